"""Training orders of the DataModules: permutation, with replacement (BS4NN), sequential
(S4NN), and drop_last (SSTDP)."""

from __future__ import annotations

import pytest
import torch

from bstdg.data import MNISTDataModule
from bstdg.data.errors import InvalidDataConfigError
from bstdg.data.sampler import EpochSeededReplacementSampler, EpochSeededSampler


def _dm(root, **kw) -> MNISTDataModule:
    dm = MNISTDataModule(data_dir=str(root), val_size=20, seed=4, **kw)
    dm.setup()
    return dm


def test_replacement_sampling_draws_n_indices_with_repeats(mnist_root) -> None:
    loader = _dm(mnist_root, sampling="replacement", batch_size=1).train_dataloader()
    assert isinstance(loader.sampler, EpochSeededReplacementSampler)
    idx = list(loader.sampler)
    assert len(idx) == len(loader.dataset) == 100 and len(set(idx)) < 100
    assert len(loader) == 100


def test_sequential_sampling_keeps_the_dataset_order(mnist_root) -> None:
    dm = _dm(mnist_root, sampling="sequential", batch_size=7)
    first = torch.cat([y for _, y in dm.train_dataloader()])
    again = torch.cat([y for _, y in dm.train_dataloader()])
    expected = torch.stack([dm.train_set[i][1] for i in range(len(dm.train_set))])
    assert torch.equal(first, expected) and torch.equal(again, expected)


def test_default_is_a_seeded_permutation_and_drop_last_drops_the_partial_batch(
    mnist_root,
) -> None:
    dm = _dm(mnist_root, batch_size=32)
    assert isinstance(dm.train_dataloader().sampler, EpochSeededSampler)
    assert len(dm.train_dataloader()) == 4  # 100 samples: 3 full + 1 partial
    dropped = _dm(mnist_root, batch_size=32, drop_last=True)
    assert len(dropped.train_dataloader()) == 3
    assert len(dropped.val_dataloader()) == 1  # evaluation loaders stay whole


def test_unknown_sampling_is_refused(mnist_root) -> None:
    with pytest.raises(InvalidDataConfigError, match="sampling='bootstrap' is invalid"):
        MNISTDataModule(data_dir=str(mnist_root), sampling="bootstrap")
