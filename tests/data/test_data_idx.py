"""IDX reader: formats, validation and checksum errors."""

from __future__ import annotations

import gzip

import numpy as np
import pytest

from bstdg.data.errors import CorruptDatasetError
from bstdg.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx, sha256_of
from helpers.data_fakes import write_idx


@pytest.mark.parametrize("compress", [True, False])
def test_roundtrip(tmp_path, compress):
    arr = np.arange(2 * 28 * 28, dtype=np.uint8).reshape(2, 28, 28)
    path = tmp_path / ("x.gz" if compress else "x")
    write_idx(path, arr, compress=compress)
    out = read_idx(path, IMAGES_MAGIC)
    assert out.dtype == np.uint8 and out.shape == (2, 28, 28)
    np.testing.assert_array_equal(out, arr)
    assert out.flags.writeable


def test_bad_magic(tmp_path):
    path = tmp_path / "labels.gz"
    write_idx(path, np.zeros((2, 3, 3)))
    with pytest.raises(CorruptDatasetError, match="bad IDX magic") as exc:
        read_idx(path, LABELS_MAGIC)
    assert str(path) in str(exc.value)


def test_truncated_payload(tmp_path):
    path = tmp_path / "imgs.gz"
    raw = gzip.decompress(_idx_bytes(tmp_path))
    path.write_bytes(gzip.compress(raw[:-10]))
    with pytest.raises(CorruptDatasetError, match="truncated") as exc:
        read_idx(path, IMAGES_MAGIC)
    assert str(path) in str(exc.value) and "(3, 28, 28)" in str(exc.value)


def test_truncated_gzip(tmp_path):
    path = tmp_path / "imgs.gz"
    path.write_bytes(_idx_bytes(tmp_path)[:-20])
    with pytest.raises(CorruptDatasetError, match="gzip") as exc:
        read_idx(path, IMAGES_MAGIC)
    assert str(path) in str(exc.value)


def test_sha256_mismatch(tmp_path):
    path = tmp_path / "imgs.gz"
    write_idx(path, np.zeros((3, 28, 28)))
    assert read_idx(path, IMAGES_MAGIC, sha256=sha256_of(path)).shape == (3, 28, 28)
    with pytest.raises(CorruptDatasetError, match="sha256 mismatch") as exc:
        read_idx(path, IMAGES_MAGIC, sha256="0" * 64)
    assert str(path) in str(exc.value)


def _idx_bytes(tmp_path):
    src = tmp_path / "src.gz"
    write_idx(src, np.ones((3, 28, 28)))
    return src.read_bytes()
