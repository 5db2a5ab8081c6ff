"""Numpy reader for IDX files (MNIST format), plain or gzip-compressed, with validation."""

from __future__ import annotations

import gzip
import hashlib
import zlib
from pathlib import Path

import numpy as np

from bstdg.data.errors import corrupt

IMAGES_MAGIC = 0x00000803
LABELS_MAGIC = 0x00000801
_UBYTE = 0x08


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file's bytes."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(path: Path, expected: str) -> None:
    """Raise CorruptDatasetError if the file's sha256 differs from `expected`."""
    actual = sha256_of(path)
    if actual != expected:
        raise corrupt(path, f"sha256 mismatch: expected {expected}, got {actual}")


def _read_bytes(path: Path) -> bytes:
    if path.suffix != ".gz":
        return path.read_bytes()
    try:
        with gzip.open(path, "rb") as fh:
            return fh.read()
    except (EOFError, OSError, zlib.error) as exc:
        raise corrupt(path, f"not a complete gzip stream (truncated or damaged: {exc})") from exc


def read_idx(path: Path, expected_magic: int, sha256: str | None = None) -> np.ndarray:
    """Read an unsigned-byte IDX file into a uint8 array of its declared shape.

    Checks the magic number, the header length, that the file declares at least one sample
    and that the payload length equals the product of the big-endian uint32 dimensions.
    With `sha256`, the file's bytes are verified first.
    """
    path = Path(path)
    if sha256 is not None:
        verify_sha256(path, sha256)
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise corrupt(path, f"only {len(raw)} bytes, too short for an IDX header")
    magic = int.from_bytes(raw[:4], "big")
    if magic != expected_magic:
        raise corrupt(
            path,
            f"bad IDX magic 0x{magic:08x}, expected 0x{expected_magic:08x} "
            f"({'images' if expected_magic == IMAGES_MAGIC else 'labels'})",
        )
    if raw[2] != _UBYTE:
        raise corrupt(path, f"IDX data type 0x{raw[2]:02x} is not unsigned byte (0x08)")
    ndim = raw[3]
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise corrupt(path, f"truncated IDX header ({len(raw)} bytes, need {header})")
    dims = tuple(int.from_bytes(raw[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    if not dims or dims[0] == 0:
        raise corrupt(
            path,
            f"the IDX header declares {dims[0] if dims else 'no'} samples (dims {dims}); a "
            f"dataset file holds at least one",
        )
    expected = int(np.prod(dims, dtype=np.int64))
    payload = len(raw) - header
    if payload != expected:
        what = "truncated" if payload < expected else "has trailing bytes"
        raise corrupt(
            path,
            f"IDX payload {what}: header declares dims {dims} = {expected} bytes, "
            f"found {payload} bytes",
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(dims).copy()
