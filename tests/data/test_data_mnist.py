"""MNISTDataModule on fake IDX files: contract, splits and errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bstdg.data import (
    CorruptDatasetError,
    DatasetNotFoundError,
    InvalidDataConfigError,
    MNISTDataModule,
)
from helpers.data_fakes import N_TEST, N_TRAIN


def _dm(root, **kw):
    kw.setdefault("val_size", 20)
    dm = MNISTDataModule(str(root), **kw)
    dm.setup("fit")
    return dm


@pytest.mark.parametrize("variant", ["MNIST", "FashionMNIST"])
def test_batch_contract(mnist_root, variant):
    dm = MNISTDataModule(str(mnist_root), variant=variant, batch_size=16, val_size=20)
    assert (dm.n_inputs, dm.n_classes) == (784, 10)
    assert dm.name == ("mnist" if variant == "MNIST" else "fmnist")
    dm.setup("fit")
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        x, y = next(iter(loader))
        assert x.dtype == torch.uint8 and x.shape == (16, 784)
        assert y.dtype == torch.int64 and y.shape == (16,)
    assert (len(dm.train_set), len(dm.val_set), len(dm.test_set)) == (100, 20, N_TEST)


def test_pixels_row_major(mnist_root):
    from bstdg.data.idx import IMAGES_MAGIC, read_idx

    raw = read_idx(mnist_root / "MNIST/raw/t10k-images-idx3-ubyte.gz", IMAGES_MAGIC)
    dm = _dm(mnist_root)
    x, _ = next(iter(dm.test_dataloader()))
    np.testing.assert_array_equal(x[0].numpy(), raw[0].reshape(-1))


def test_setup_idempotent(mnist_root):
    dm = _dm(mnist_root)
    train = dm.train_set
    dm.setup("test")
    assert dm.train_set is train


def _idx(dm):
    return set(dm.train_set.indices), set(dm.val_set.indices)


def test_split_reproducible_and_disjoint(mnist_root):
    a, b, c = (_dm(mnist_root, seed=s) for s in (0, 0, 1))
    assert _idx(a) == _idx(b)
    assert _idx(a) != _idx(c)
    train, val = _idx(a)
    assert not train & val and len(train | val) == N_TRAIN
    assert len(a.test_set) == len(c.test_set) == N_TEST


def test_val_fraction(mnist_root):
    dm = _dm(mnist_root, val_size=0.25)
    assert len(dm.val_set) == 30 and len(dm.train_set) == 90


def test_val_size_zero_uses_test_and_warns_once(mnist_root):
    dm = _dm(mnist_root, val_size=0)
    assert len(dm.train_set) == N_TRAIN
    with pytest.warns(UserWarning, match="TEST split"):
        loader = dm.val_dataloader()
    assert loader.dataset is dm.test_set
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        dm.val_dataloader()


@pytest.mark.parametrize("val_size", [N_TRAIN, N_TRAIN + 5])
def test_val_size_too_large(mnist_root, val_size):
    dm = MNISTDataModule(str(mnist_root), val_size=val_size)
    with pytest.raises(InvalidDataConfigError, match=f"only {N_TRAIN}") as exc:
        dm.setup()
    assert f"[0, {N_TRAIN - 1}]" in str(exc.value)


@pytest.mark.parametrize("kw", [{"val_size": 1.5}, {"val_size": -1}, {"val_size": "x"}])
def test_val_size_invalid_in_init(kw):
    with pytest.raises(InvalidDataConfigError, match="val_size"):
        MNISTDataModule("/nonexistent", **kw)


@pytest.mark.parametrize("batch_size", [0, -3])
def test_batch_size_invalid(batch_size):
    with pytest.raises(InvalidDataConfigError, match=">= 1"):
        MNISTDataModule("/nonexistent", batch_size=batch_size)


def test_variant_invalid():
    with pytest.raises(InvalidDataConfigError, match="FashionMNIST"):
        MNISTDataModule("/nonexistent", variant="KMNIST")


def test_sizes_are_not_options():
    """The sizes are facts of the data: attributes, not constructor parameters."""
    dm = MNISTDataModule("/nonexistent")
    assert (dm.n_inputs, dm.n_classes) == (784, 10)
    with pytest.raises(TypeError, match="n_inputs"):
        MNISTDataModule("/nonexistent", n_inputs=784)


def test_missing_file_message(tmp_path, no_env_data_dir):
    dm = MNISTDataModule(str(tmp_path), variant="FashionMNIST")
    with pytest.raises(DatasetNotFoundError) as exc:
        dm.setup()
    msg = str(exc.value)
    assert str(tmp_path / "FashionMNIST/raw/train-images-idx3-ubyte.gz") in msg
    assert "BSTDG_DATA_DIR" in msg
    assert "python -m bstdg.data.download fmnist --to DIR" in msg
    assert "fashion-mnist" in msg
    assert isinstance(exc.value, FileNotFoundError)


def test_prepare_data_does_nothing(tmp_path):
    MNISTDataModule(str(tmp_path)).prepare_data()
    assert not any(tmp_path.iterdir())


def test_checksum_verification(mnist_root):
    dm = MNISTDataModule(str(mnist_root), val_size=10, verify_checksums=True)
    with pytest.raises(CorruptDatasetError, match="sha256 mismatch") as exc:
        dm.setup()
    assert "train-images-idx3-ubyte.gz" in str(exc.value)
    assert "440fcabf73cc546f" in str(exc.value)


def test_label_count_mismatch(mnist_root):
    from helpers.data_fakes import write_idx

    write_idx(mnist_root / "MNIST/raw/t10k-labels-idx1-ubyte.gz", np.zeros(7))
    with pytest.raises(CorruptDatasetError, match="do not match the 30 images") as exc:
        _dm(mnist_root)
    assert "t10k-labels-idx1-ubyte.gz" in str(exc.value)


def test_train_shuffle_seeded(mnist_root):
    y1 = next(iter(_dm(mnist_root).train_dataloader()))[1]
    y2 = next(iter(_dm(mnist_root).train_dataloader()))[1]
    assert torch.equal(y1, y2)
