"""Writers of small fake datasets in the true on-disk formats (IDX .gz, JPEG, SHD h5)."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import h5py
import numpy as np

N_TRAIN, N_TEST = 120, 30
N_FACES, N_MOTOR = 12, 15


def write_idx(path: Path, array: np.ndarray, compress: bool = True) -> None:
    """Write a uint8 array as an IDX file (gzip-compressed if `compress`)."""
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim)
    header += struct.pack(f">{array.ndim}I", *array.shape)
    data = header + array.tobytes()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data) if compress else data)


def write_mnist_like(raw: Path, seed: int) -> None:
    rng = np.random.default_rng(seed)
    for prefix, n in (("train", N_TRAIN), ("t10k", N_TEST)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte.gz", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte.gz", np.arange(n) % 10)


def make_shd_samples(n: int, seed: int) -> tuple[list, list, np.ndarray]:
    """Random SHD-like samples: unsorted float32 seconds, uint16 units 0..699, labels 0..19."""
    rng = np.random.default_rng(seed)
    times, units = [], []
    for i in range(n):
        k = 0 if i == 3 else int(rng.integers(1, 40))
        times.append(rng.uniform(0, 1.0, k).astype(np.float32))
        units.append(rng.integers(0, 700, k).astype(np.uint16))
    return times, units, (np.arange(n) % 20).astype(np.uint16)


def write_shd_h5(path: Path, n: int, seed: int, extra: bool = True, skip: str = "") -> None:
    """Write one SHD-layout h5 file with vlen arrays (as the real files)."""
    times, units, labels = make_shd_samples(n, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as fh:
        data = {
            "spikes/times": (times, h5py.vlen_dtype(np.float32)),
            "spikes/units": (units, h5py.vlen_dtype(np.uint16)),
        }
        for key, (values, dtype) in data.items():
            if key != skip:
                ds = fh.create_dataset(key, (n,), dtype=dtype)
                for i, v in enumerate(values):
                    ds[i] = v
        if skip != "labels":
            fh.create_dataset("labels", data=labels)
        if extra:
            fh.create_dataset("extra/keys", data=np.array([f"w{i}".encode() for i in range(20)]))
            fh.create_dataset("extra/speaker", data=np.arange(n) % 3)
