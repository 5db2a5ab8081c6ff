"""SyntheticDataModule: determinism, contract and learnability."""

from __future__ import annotations

import pytest
import torch

from bstdg.data import InvalidDataConfigError, SyntheticDataModule


def _dm(**kw):
    dm = SyntheticDataModule(**kw)
    dm.setup()
    return dm


def test_contract():
    dm = _dm(batch_size=32)
    assert (dm.n_inputs, dm.n_classes, dm.name) == (64, 4, "synthetic")
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (512, 128, 256)
    x, y = next(iter(dm.train_dataloader()))
    assert x.dtype == torch.uint8 and x.shape == (32, 64)
    assert y.dtype == torch.int64 and y.shape == (32,)


def test_deterministic():
    a, b, c = _dm(seed=5), _dm(seed=5), _dm(seed=6)
    assert torch.equal(a.test_set.x, b.test_set.x)
    assert a.val_set.indices == b.val_set.indices
    assert not torch.equal(a.test_set.x, c.test_set.x)


def test_nearest_prototype_near_perfect():
    dm = _dm(seed=0)
    protos = torch.from_numpy(dm.prototypes()).float()
    x = dm.test_set.x.float() / 255
    pred = torch.cdist(x, protos).argmin(1)
    assert (pred == dm.test_set.y).float().mean() > 0.98


@pytest.mark.parametrize("kw", [{"n_classes": 1}, {"n_train": 0}, {"noise": 0.7}])
def test_invalid(kw):
    with pytest.raises(InvalidDataConfigError):
        SyntheticDataModule(**kw)
