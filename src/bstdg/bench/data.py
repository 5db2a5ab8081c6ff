"""MNIST-shaped uint8 benchmark input: the real IDX files or a labelled synthetic stand-in."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from bstdg.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from bstdg.data.synthetic import make_prototypes, sample_images

N_INPUTS = 784
N_CLASSES = 10


def _find(raw: Path, stem: str) -> Path | None:
    for name in (f"{stem}.gz", stem):
        if (raw / name).is_file():
            return raw / name
    return None


def mnist_raw_dir(data_dir: str | os.PathLike | None = None) -> Path | None:
    """``$BSTDG_DATA_DIR/MNIST/raw`` (or ``data_dir/MNIST/raw``) if it exists."""
    root = data_dir if data_dir is not None else os.environ.get("BSTDG_DATA_DIR")
    if not root:
        return None
    raw = Path(root) / "MNIST" / "raw"
    return raw if raw.is_dir() else None


def load_inputs(
    n: int, data_dir: str | os.PathLike | None = None, synthetic: bool = False, seed: int = 0
) -> tuple[np.ndarray, np.ndarray, str]:
    """``n`` training images (n, 784) uint8, labels (n,) int64 and the source label.

    The source is ``"mnist"`` (the IDX training set, cycled if n > 60000) or ``"synthetic"``
    (noisy class prototypes, see ``bstdg.data.synthetic``) when the files are absent.
    """
    raw = None if synthetic else mnist_raw_dir(data_dir)
    images = labels = None
    if raw is not None:
        img_path = _find(raw, "train-images-idx3-ubyte")
        lab_path = _find(raw, "train-labels-idx1-ubyte")
        if img_path is not None and lab_path is not None:
            images = read_idx(img_path, IMAGES_MAGIC).reshape(-1, N_INPUTS)
            labels = read_idx(lab_path, LABELS_MAGIC).astype(np.int64)
    if images is not None and labels is not None:
        idx = np.arange(n) % len(images)
        return np.ascontiguousarray(images[idx]), labels[idx], "mnist"
    rng = np.random.default_rng(seed)
    protos = make_prototypes(N_CLASSES, N_INPUTS, rng)
    x, y = sample_images(protos, n, noise=0.05, rng=rng)
    # MNIST-like sparsity: the dark background (0..40) becomes black, so about 27 % of the
    # pixels are non-zero (MNIST: about 19 %); the latency code keeps black pixels silent.
    x[x <= 40] = 0
    return x, y, "synthetic"
