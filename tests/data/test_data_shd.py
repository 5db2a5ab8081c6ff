"""SHDDataModule on small fake h5 pairs in the real SHD layout (read with h5py)."""

from __future__ import annotations

import math

import h5py
import numpy as np
import pytest
import torch

from bstdg.data import CorruptDatasetError, DatasetNotFoundError, SHDDataModule
from bstdg.data.shd import load_shd, pad_events
from helpers.data_fakes import make_shd_samples, write_shd_h5


def _dm(root, **kw):
    dm = SHDDataModule(str(root), **{"val_size": 10, **kw})
    dm.setup("fit")
    return dm


def test_attributes_without_data():
    dm = SHDDataModule("/nonexistent")
    assert (dm.n_inputs, dm.n_classes, dm.name) == (700, 20, "shd")


def test_events_match_file(shd_root):
    data = load_shd(shd_root, train=True)
    times, units, labels = make_shd_samples(50, seed=0)
    assert len(data) == 50
    for i in (0, 3, 7):
        ev, label = data[i]
        order = np.argsort(times[i], kind="stable")
        assert ev.dtype == np.float32 and ev.shape == (len(times[i]), 2)
        np.testing.assert_array_equal(ev[:, 0], times[i][order])  # the stored times, exactly
        np.testing.assert_array_equal(ev[:, 1], units[i][order])
        assert np.all(np.diff(ev[:, 0]) >= 0)
        assert label == labels[i]


def test_batch_padding(shd_root):
    dm = _dm(shd_root, batch_size=8)
    for loader in (dm.train_dataloader(), dm.val_dataloader(), dm.test_dataloader()):
        x, y = next(iter(loader))
        assert x.dtype == torch.float32 and x.ndim == 3 and x.shape[0] == 8 and x.shape[2] == 2
        assert y.dtype == torch.int64 and y.shape == (8,)
        pad = torch.isinf(x[:, :, 0])
        assert torch.all(x[:, :, 1][pad] == 0)
        lengths = (~pad).sum(1)
        assert lengths.max() == x.shape[1]
        for row, n in zip(x, lengths, strict=True):
            assert torch.all(torch.isfinite(row[:n, 0])) and torch.all(row[:n, 0] >= 0)
            assert torch.all(torch.isinf(row[n:, 0]))


def test_pad_events_empty_samples():
    empty = np.zeros((0, 2), np.float32)
    x, y = pad_events([(empty, 1), (empty, 2)])
    assert x.shape == (2, 1, 2) and math.isinf(x[0, 0, 0]) and x[0, 0, 1] == 0
    assert y.tolist() == [1, 2]


def test_split_reproducible(shd_root):
    a, b, c = (_dm(shd_root, seed=s) for s in (0, 0, 3))
    assert a.val_set.indices == b.val_set.indices != c.val_set.indices
    assert not set(a.val_set.indices) & set(a.train_set.indices)
    assert len(a.test_set) == 20


def test_without_extra_keys(tmp_path):
    write_shd_h5(tmp_path / "SHD" / "shd_train.h5", 12, seed=0, extra=False)
    write_shd_h5(tmp_path / "SHD" / "shd_test.h5", 5, seed=1, extra=False)
    dm = _dm(tmp_path, val_size=2)
    assert len(dm.train_set) == 10 and len(dm.test_set) == 5


def test_reads_offline_and_writes_nothing(shd_root, tmp_path):
    before = sorted(p.relative_to(shd_root) for p in shd_root.rglob("*"))
    data = load_shd(shd_root, train=False)
    assert len(data) == 20
    assert sorted(p.relative_to(shd_root) for p in shd_root.rglob("*")) == before
    with pytest.raises(DatasetNotFoundError, match="zenkelab.org"):
        load_shd(tmp_path / "empty", train=True)


@pytest.mark.parametrize("dtype", [np.float16, np.float64])
def test_time_dtypes(tmp_path, dtype):
    """Times stored as float16 or float64 come out as float32 seconds, sorted per sample."""
    path = tmp_path / "SHD" / "shd_train.h5"
    path.parent.mkdir()
    times = [np.array([0.5, 0.25, 0.75], dtype), np.array([], dtype)]
    with h5py.File(path, "w") as fh:
        ds = fh.create_dataset("spikes/times", (2,), dtype=h5py.vlen_dtype(dtype))
        us = fh.create_dataset("spikes/units", (2,), dtype=h5py.vlen_dtype(np.uint16))
        for i, t in enumerate(times):
            ds[i] = t
            us[i] = np.arange(len(t), dtype=np.uint16)
        fh.create_dataset("labels", data=np.array([3, 19], np.uint16))
    data = load_shd(tmp_path, train=True)
    ev, label = data[0]
    assert ev.dtype == np.float32 and label == 3
    np.testing.assert_array_equal(ev, [[0.25, 1], [0.5, 0], [0.75, 2]])
    assert data[1][0].shape == (0, 2) and data[1][1] == 19


def test_unit_and_label_ranges(tmp_path):
    path = tmp_path / "SHD" / "shd_train.h5"
    write_shd_h5(path, 6, seed=0)
    with h5py.File(path, "a") as fh:
        n = len(fh["spikes/units"][2])
        fh["spikes/units"][2] = np.full(n, 700, dtype=np.uint16)
    with pytest.raises(CorruptDatasetError, match="sample 2 has unit ids outside 0..699"):
        load_shd(tmp_path, train=True)
    write_shd_h5(path, 6, seed=0)
    with h5py.File(path, "a") as fh:
        fh["labels"][1] = 20
    with pytest.raises(CorruptDatasetError, match="labels outside 0..19"):
        load_shd(tmp_path, train=True)


def test_missing_file_message(tmp_path, no_env_data_dir):
    write_shd_h5(tmp_path / "SHD" / "shd_train.h5", 5, seed=0)
    with pytest.raises(DatasetNotFoundError) as exc:
        _dm(tmp_path, val_size=0)
    msg = str(exc.value)
    assert str(tmp_path / "SHD" / "shd_test.h5") in msg
    assert "BSTDG_DATA_DIR" in msg and "zenkelab.org" in msg


@pytest.mark.parametrize("key", ["spikes/times", "spikes/units", "labels"])
def test_missing_key(tmp_path, key):
    write_shd_h5(tmp_path / "SHD" / "shd_train.h5", 5, seed=0, skip=key)
    with pytest.raises(CorruptDatasetError, match=key) as exc:
        _dm(tmp_path, val_size=0)
    assert "shd_train.h5" in str(exc.value)


def test_not_hdf5(tmp_path):
    path = tmp_path / "SHD" / "shd_train.h5"
    path.parent.mkdir()
    path.write_bytes(b"garbage")
    with pytest.raises(CorruptDatasetError, match="not a readable HDF5") as exc:
        _dm(tmp_path)
    assert str(path) in str(exc.value)


def test_length_mismatch(tmp_path):
    path = tmp_path / "SHD" / "shd_train.h5"
    write_shd_h5(path, 5, seed=0)
    with h5py.File(path, "a") as fh:
        del fh["labels"]
        fh.create_dataset("labels", data=np.zeros(4, np.uint16))
    with pytest.raises(CorruptDatasetError, match="different lengths"):
        _dm(tmp_path)
