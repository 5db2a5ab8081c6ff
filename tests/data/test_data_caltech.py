"""CaltechFaceMotorbikeDataModule on a fake JPEG folder."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bstdg.data import (
    CaltechFaceMotorbikeDataModule,
    CorruptDatasetError,
    DatasetNotFoundError,
    InvalidDataConfigError,
)
from bstdg.data.dog import dog_on_off
from helpers.data_fakes import N_FACES, N_MOTOR


def _dm(root, **kw):
    kw = {"resize": [12, 20], "train_per_class": 5, "val_size": 2, **kw}
    dm = CaltechFaceMotorbikeDataModule(str(root), **kw)
    dm.setup("fit")
    return dm


def test_batch_contract(caltech_root):
    dm = _dm(caltech_root, batch_size=4)
    assert (dm.n_inputs, dm.n_classes) == (240, 2)
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        x, y = next(iter(loader))
        assert x.dtype == torch.uint8 and x.shape == (min(4, len(loader.dataset)), 240)
        assert y.dtype == torch.int64 and set(y.tolist()) <= {0, 1}
    assert len(dm.train_set) + len(dm.val_set) == 10
    assert len(dm.test_set) == N_FACES + N_MOTOR - 10
    assert sorted(dm.test_set.y.tolist()) == [0] * (N_FACES - 5) + [1] * (N_MOTOR - 5)


def test_split_reproducible(caltech_root):
    a, b, c = (_dm(caltech_root, seed=s) for s in (0, 0, 1))
    assert torch.equal(a.test_set.x, b.test_set.x)
    assert not torch.equal(a.test_set.x, c.test_set.x)
    assert a.train_set.indices == b.train_set.indices
    train_x = a.train_set.dataset.x
    test_rows = {bytes(r.numpy()) for r in a.test_set.x}
    assert not any(bytes(r.numpy()) in test_rows for r in train_x)


def test_dog_on_off(caltech_root):
    dm = _dm(caltech_root, dog_filter="on_off")
    assert dm.n_inputs == 2 * 12 * 20
    x, _ = next(iter(dm.test_dataloader()))
    assert x.dtype == torch.uint8 and x.shape[1] == 480
    assert int(x.max()) == 255


def test_dog_filter_values():
    img = np.zeros((1, 21, 21), dtype=np.uint8)
    img[0, 10, 10] = 255
    out = dog_on_off(img)
    assert out.shape == (1, 2, 21, 21) and out.dtype == np.uint8
    assert out[0, 0, 10, 10] == 255 and out[0, 1, 10, 10] == 0
    assert out[0, 1].max() > 0 and out[0, 0, 0, 0] == 0
    assert not dog_on_off(np.full((1, 9, 9), 77, np.uint8)).any()


def test_sdnn_split(caltech_root):
    dm = _dm(caltech_root, split="sdnn", val_size=0)
    assert len(dm.train_set) == 10 and len(dm.test_set) == 8


def test_sdnn_split_missing_list(caltech_root):
    (caltech_root / "caltech101/splits/sdnn_python/test.txt").unlink()
    with pytest.raises(DatasetNotFoundError, match="test.txt"):
        _dm(caltech_root, split="sdnn")


def test_train_per_class_too_large(caltech_root):
    with pytest.raises(InvalidDataConfigError, match=f"has {N_FACES} images; use 1..{N_FACES - 1}"):
        _dm(caltech_root, train_per_class=N_FACES)


def test_unknown_class(caltech_root):
    with pytest.raises(InvalidDataConfigError, match="unknown class folder 'Cars'") as exc:
        _dm(caltech_root, classes=["Faces", "Cars"])
    assert "Motorbikes" in str(exc.value)


@pytest.mark.parametrize(
    ("kw", "match"),
    [
        ({"dog_filter": "sobel"}, "on_off"),
        ({"resize": [160]}, "2 positive ints"),
        ({"resize": [0, 5]}, "2 positive ints"),
        ({"resize": "160x250"}, "2 positive ints"),
        ({"train_per_class": 0}, ">= 1"),
        ({"split": "kfold"}, "sdnn"),
        ({"classes": ["Faces"]}, "at least 2"),
        ({"batch_size": 0}, ">= 1"),
    ],
)
def test_invalid_options(kw, match):
    with pytest.raises(InvalidDataConfigError, match=match):
        CaltechFaceMotorbikeDataModule("/nonexistent", **kw)


def test_unreadable_jpeg(caltech_root):
    bad = caltech_root / "caltech101/101_ObjectCategories/Faces/image_0003.jpg"
    bad.write_bytes(b"not a jpeg at all")
    with pytest.raises(CorruptDatasetError, match="unreadable JPEG") as exc:
        _dm(caltech_root)
    assert str(bad) in str(exc.value)


def test_missing_folder(tmp_path, no_env_data_dir):
    with pytest.raises(DatasetNotFoundError) as exc:
        _dm(tmp_path)
    msg = str(exc.value)
    assert str(tmp_path / "caltech101" / "101_ObjectCategories") in msg
    assert "BSTDG_DATA_DIR" in msg and "data.caltech.edu" in msg
