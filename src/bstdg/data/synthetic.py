"""Synthetic prototype images: a learnable toy task for tests and the quickstart."""

from __future__ import annotations

import numpy as np
from torch.utils.data import Dataset

from bstdg.data.base import ArrayDataset, SplitDataModule, ValSize
from bstdg.data.errors import InvalidDataConfigError


def make_prototypes(n_classes: int, n_inputs: int, rng: np.random.Generator) -> np.ndarray:
    """Binary (n_classes, n_inputs) masks, each with a random quarter of pixels on."""
    n_on = max(1, n_inputs // 4)
    protos = np.zeros((n_classes, n_inputs), dtype=bool)
    for c in range(n_classes):
        protos[c, rng.choice(n_inputs, size=n_on, replace=False)] = True
    return protos


def sample_images(
    protos: np.ndarray, n: int, noise: float, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """Draw `n` noisy uint8 images of random classes from the prototype masks.

    On-pixels get intensities 160..255, off-pixels 0..40; each pixel is flipped with
    probability `noise`.
    """
    labels = rng.integers(0, len(protos), size=n)
    on = protos[labels] ^ (rng.random((n, protos.shape[1])) < noise)
    bright = rng.integers(160, 256, size=on.shape)
    dark = rng.integers(0, 41, size=on.shape)
    return np.where(on, bright, dark).astype(np.uint8), labels.astype(np.int64)


class SyntheticDataModule(SplitDataModule):
    """Deterministic toy data: class prototypes of bright pixels plus noise, uint8 (B, n_inputs).

    A pool of n_train + n_val samples is drawn; `val_size` (default n_val) is carved from it.
    `data_dir` is accepted for interface compatibility and ignored.
    """

    def __init__(
        self,
        data_dir: str | None = None,
        n_train: int = 512,
        n_val: int = 128,
        n_test: int = 256,
        n_inputs: int = 64,
        n_classes: int = 4,
        noise: float = 0.05,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        val_size: ValSize | None = None,
        seed: int = 0,
        sampling: str = "permutation",
        drop_last: bool = False,
    ) -> None:
        for key, value, low in (
            ("n_train", n_train, 1),
            ("n_val", n_val, 0),
            ("n_test", n_test, 1),
            ("n_inputs", n_inputs, 1),
            ("n_classes", n_classes, 2),
        ):
            if isinstance(value, bool) or not isinstance(value, int) or value < low:
                raise InvalidDataConfigError(f"{key}={value!r} is invalid: use an int >= {low}.")
        if not 0.0 <= noise < 0.5:
            raise InvalidDataConfigError(f"noise={noise} is invalid: use a float in [0, 0.5).")
        val = n_val if val_size is None else val_size
        super().__init__(data_dir, batch_size, num_workers, pin_memory, val, seed, sampling,
                         drop_last)
        self.n_train, self.n_val, self.n_test = n_train, n_val, n_test
        self.n_inputs = n_inputs
        self.n_classes = n_classes
        self.noise = noise
        self.name = "synthetic"

    def prototypes(self) -> np.ndarray:
        """The class prototype masks (bool, (n_classes, n_inputs)) for this seed."""
        return make_prototypes(self.n_classes, self.n_inputs, np.random.default_rng(self.seed))

    def _load(self) -> tuple[Dataset, Dataset]:
        protos = self.prototypes()
        pool_rng, test_rng = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2)
        )
        pool = sample_images(protos, self.n_train + self.n_val, self.noise, pool_rng)
        test = sample_images(protos, self.n_test, self.noise, test_rng)
        return ArrayDataset(*pool), ArrayDataset(*test)
