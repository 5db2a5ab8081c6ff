"""Checks against the real datasets under $BSTDG_DATA_DIR (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bstdg.data import CaltechFaceMotorbikeDataModule, MNISTDataModule, SHDDataModule

pytestmark = [pytest.mark.slow, pytest.mark.realdata]


def _root(relative: str) -> Path:
    env = os.environ.get("BSTDG_DATA_DIR")
    if not env or not (Path(env) / relative).exists():
        pytest.skip(f"real data not found: set BSTDG_DATA_DIR to a folder with {relative}")
    return Path(env)


@pytest.mark.parametrize("variant", ["MNIST", "FashionMNIST"])
def test_mnist_counts(variant):
    root = _root(f"{variant}/raw/train-images-idx3-ubyte.gz")
    dm = MNISTDataModule(str(root), variant=variant, verify_checksums=True)
    dm.setup()
    assert len(dm.train_set) + len(dm.val_set) == 60000
    assert len(dm.val_set) == 5000 and len(dm.test_set) == 10000
    assert dm.test_set.x.shape == (10000, 784)


def test_caltech_counts():
    root = _root("caltech101/101_ObjectCategories/Faces")
    dm = CaltechFaceMotorbikeDataModule(str(root), resize=[40, 62], train_per_class=200)
    dm.setup()
    n_train = len(dm.train_set) + len(dm.val_set)
    assert n_train == 400 and n_train + len(dm.test_set) == 1233
    assert dm.test_set.y.tolist().count(0) == 435 - 200
    assert dm.test_set.y.tolist().count(1) == 798 - 200


def test_caltech_sdnn_split():
    root = _root("caltech101/splits/sdnn_python/train.txt")
    dm = CaltechFaceMotorbikeDataModule(str(root), resize=[40, 62], split="sdnn", val_size=0)
    dm.setup()
    assert len(dm.train_set) == 400 and len(dm.test_set) == 396


def test_shd_counts():
    root = _root("SHD/shd_test.h5")
    dm = SHDDataModule(str(root), val_size=0)
    dm.setup()
    assert len(dm.train_set) == 8156 and len(dm.test_set) == 2264
