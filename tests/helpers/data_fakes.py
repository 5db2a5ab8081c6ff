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


def make_shd_samples(n: int, seed: int, edges: bool = False) -> tuple[list, list, np.ndarray]:
    """Random SHD-like samples: unsorted float32 seconds, uint16 units 0..699, labels 0..19;
    with ``edges``, the last sample's events lie on the 10 ms bin edges k / 100 s."""
    rng = np.random.default_rng(seed)
    times, units = [], []
    for i in range(n):
        k = 0 if i == 3 else int(rng.integers(1, 40))
        times.append(rng.uniform(0, 1.0, k).astype(np.float32))
        units.append(rng.integers(0, 700, k).astype(np.uint16))
    if edges:
        times[-1] = (np.arange(1, 100) / 100).astype(np.float32)
        units[-1] = np.arange(99, dtype=np.uint16)
    return times, units, (np.arange(n) % 20).astype(np.uint16)


def write_shd_h5(path: Path, n: int, seed: int, extra: bool = True, skip: str = "",
                 edges: bool = False) -> None:
    """Write one SHD-layout h5 file with vlen arrays (as the real files)."""
    times, units, labels = make_shd_samples(n, seed, edges)
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


def write_tonic_archive(path: Path) -> None:
    """An empty zip where tonic keeps the archive it downloaded (it checks that it exists)."""
    import zipfile

    path.parent.mkdir(parents=True, exist_ok=True)
    with zipfile.ZipFile(path, "w"):
        pass


def nmnist_bin(x: np.ndarray, y: np.ndarray, t: np.ndarray, p: np.ndarray) -> bytes:
    """N-MNIST's 40-bit events: x, y, then polarity (bit 7) and a 23-bit microsecond time."""
    t = np.asarray(t, dtype=np.int64)
    rows = np.stack([x, y, (np.asarray(p) << 7) | ((t >> 16) & 127), (t >> 8) & 255, t & 255],
                    axis=1)
    return rows.astype(np.uint8).tobytes()


def write_nmnist(root: Path, per_split: int = 10_000, seed: int = 0) -> dict[str, list]:
    """tonic's N-MNIST layout under ``root``/NMNIST: train.zip / test.zip and
    Train|Test/<digit>/<id>.bin, ``per_split`` files each (tonic requires 10,000 per split).
    Each file holds a few random events on the 34 x 34 sensor; returns, per split, the
    (digit, events) of every file in tonic's (sorted) order."""
    rng = np.random.default_rng(seed)
    written: dict[str, list] = {}
    for split, folder in (("train", "Train"), ("test", "Test")):
        write_tonic_archive(root / "NMNIST" / f"{split}.zip")
        files = []
        for i in range(per_split):
            digit, k = i % 10, int(rng.integers(1, 8))
            ev = (rng.integers(0, 34, k), rng.integers(0, 34, k),
                  np.sort(rng.integers(0, 300_000, k)), rng.integers(0, 2, k))
            path = root / "NMNIST" / folder / str(digit) / f"{i:05d}.bin"
            files.append((str(path), digit, ev))
        for d in range(10):
            (root / "NMNIST" / folder / str(d)).mkdir(parents=True, exist_ok=True)
        for path, _, ev in files:
            Path(path).write_bytes(nmnist_bin(*ev))
        written[split] = [(digit, ev) for _, digit, ev in sorted(files)]
    return written
