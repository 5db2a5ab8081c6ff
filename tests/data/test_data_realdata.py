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


@pytest.mark.parametrize(
    "data,marker,overrides,sizes",
    [
        ("mnist", "MNIST/raw/train-images-idx3-ubyte.gz", [], (60000, 10000)),
        ("fmnist", "FashionMNIST/raw/train-images-idx3-ubyte.gz", [], (60000, 10000)),
        ("caltech_face_motorbike", "caltech101/101_ObjectCategories/Faces",
         ["data.resize=[40,62]"], (400, 833)),
    ],
)
def test_composed_train_config_dataloaders_hold_every_sample(data, marker, overrides, sizes):
    """conf/train.yaml with data=<name>, instantiated: train+val and test loaders."""
    from hydra import compose, initialize_config_dir
    from hydra.utils import instantiate

    _root(marker)
    conf = Path(__file__).resolve().parents[2] / "conf"
    with initialize_config_dir(config_dir=str(conf), version_base="1.3"):
        cfg = compose("train", overrides=[f"data={data}", "data.batch_size=2000", *overrides])
    dm = instantiate(cfg.data)
    dm.setup()
    count = lambda loader: sum(len(y) for _, y in loader)  # noqa: E731
    assert (count(dm.train_dataloader()) + count(dm.val_dataloader()),
            count(dm.test_dataloader())) == sizes
