"""Shared DataModule machinery: argument checks, seeded train/val split, loaders."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, Dataset, Subset
from torch.utils.data._utils.collate import default_collate

from bstdg.data.augment import check_shift, random_shift
from bstdg.data.errors import InvalidDataConfigError
from bstdg.data.paths import resolve_data_dir
from bstdg.data.sampler import SAMPLINGS, training_sampler

ValSize = int | float


def check_loader_args(batch_size: int, num_workers: int) -> None:
    """Refuse batch_size < 1 and num_workers < 0."""
    if isinstance(batch_size, bool) or not isinstance(batch_size, int) or batch_size < 1:
        raise InvalidDataConfigError(
            f"batch_size={batch_size!r} is invalid: it must be an integer >= 1."
        )
    if isinstance(num_workers, bool) or not isinstance(num_workers, int) or num_workers < 0:
        raise InvalidDataConfigError(
            f"num_workers={num_workers!r} is invalid: it must be an integer >= 0."
        )


def check_val_size(val_size: ValSize) -> None:
    """Refuse val_size values that are invalid whatever the data size."""
    if isinstance(val_size, bool) or not isinstance(val_size, int | float):
        raise InvalidDataConfigError(
            f"val_size={val_size!r} is invalid: use an int count >= 0 or a float "
            f"fraction in [0, 1) of the training set."
        )
    if isinstance(val_size, float) and not 0.0 <= val_size < 1.0:
        raise InvalidDataConfigError(
            f"val_size={val_size} is invalid: a float val_size is a fraction of the training "
            f"set and must be in [0, 1)."
        )
    if isinstance(val_size, int) and val_size < 0:
        raise InvalidDataConfigError(f"val_size={val_size} is invalid: a count must be >= 0.")


def val_count(val_size: ValSize, n_train: int, name: str) -> int:
    """Number of validation samples carved out of `n_train` training samples."""
    check_val_size(val_size)
    n_val = round(val_size * n_train) if isinstance(val_size, float) else int(val_size)
    if n_val >= n_train:
        raise InvalidDataConfigError(
            f"val_size={val_size} gives {n_val} validation samples, but the {name} training set "
            f"has only {n_train}: use an int in [0, {n_train - 1}] or a float in [0, 1)."
        )
    return n_val


def split_train_val(
    n_train: int, val_size: ValSize, seed: int, name: str = "dataset"
) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of range(n_train) into sorted (train, val) index arrays."""
    n_val = val_count(val_size, n_train, name)
    perm = torch.randperm(n_train, generator=torch.Generator().manual_seed(seed)).numpy()
    return np.sort(perm[n_val:]), np.sort(perm[:n_val])


class ArrayDataset(Dataset):
    """In-memory dataset over `x` (N, D) uint8 and `y` (N,) int64; fetches whole batches."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        if len(x) != len(y):
            raise ValueError(f"x has {len(x)} samples but y has {len(y)}")
        self.x = torch.from_numpy(np.ascontiguousarray(x))
        self.y = torch.from_numpy(np.asarray(y, dtype=np.int64))

    def __len__(self) -> int:
        return len(self.y)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[i], self.y[i]

    def __getitems__(self, idx: Sequence[int]) -> tuple[torch.Tensor, torch.Tensor]:
        index = torch.as_tensor(idx, dtype=torch.long)
        return self.x[index], self.y[index]


def collate_batch(batch: Any) -> Any:
    """Pass through batches already built by `__getitems__`; default-collate sample lists."""
    if isinstance(batch, tuple):
        return batch
    return default_collate(batch)


class SplitDataModule(pl.LightningDataModule):
    """Base DataModule: subclasses implement `_load()` returning (full train set, test set).

    ``sampling`` orders the training samples of each epoch: ``permutation`` (default),
    ``replacement`` (BS4NN) or ``sequential`` (S4NN); ``drop_last`` drops the last partial
    training batch (SSTDP). Validation and test loaders always run in order, whole.
    ``augment_shift`` > 0 translates each training image by up to that many pixels
    (`bstdg.data.augment.random_shift`); it needs ``image_shape`` (C, H, W).

    ``n_inputs`` and ``n_classes`` are attributes set from the data and the options (not
    constructor parameters): the network is sized from them (`bstdg.data.config`).
    """

    name: str = "dataset"
    n_inputs: int
    n_classes: int
    image_shape: tuple[int, int, int] | None = None

    def __init__(
        self,
        data_dir: str | None = None,
        batch_size: int = 64,
        num_workers: int = 0,
        pin_memory: bool = False,
        val_size: ValSize = 0.1,
        seed: int = 0,
        sampling: str = "permutation",
        drop_last: bool = False,
        augment_shift: int = 0,
    ) -> None:
        super().__init__()
        check_loader_args(batch_size, num_workers)
        check_val_size(val_size)
        if sampling not in SAMPLINGS:
            raise InvalidDataConfigError(
                f"sampling={sampling!r} is invalid: use one of {', '.join(SAMPLINGS)}."
            )
        self.sampling = sampling
        self.drop_last = bool(drop_last)
        self.data_dir = data_dir
        self.batch_size = batch_size
        self.num_workers = num_workers
        self.pin_memory = pin_memory
        self.val_size = val_size
        self.seed = seed
        self.train_set: Dataset | None = None
        self.val_set: Dataset | None = None
        self.test_set: Dataset | None = None
        self._warned_no_val = False
        self.augment_shift = augment_shift
        self._augment_rng: torch.Generator | None = None  # made on first use (spawn-safe)

    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the augmentation generator (DDP spawn cannot share its state)."""
        return {**self.__dict__, "_augment_rng": None}

    @property
    def root(self) -> Path:
        """Resolved data root directory."""
        return resolve_data_dir(self.data_dir)

    def _load(self) -> tuple[Dataset, Dataset]:
        raise NotImplementedError

    def prepare_data(self) -> None:
        """Nothing to download: data must already be on disk (see bstdg.data.download)."""

    def setup(self, stage: str | None = None) -> None:
        """Load the data once and carve the seeded validation split from the training set."""
        if self.test_set is not None:
            return
        full_train, test = self._load()
        check_shift(self.augment_shift, self.image_shape, self.name)
        train_idx, val_idx = split_train_val(len(full_train), self.val_size, self.seed, self.name)
        self.train_set = Subset(full_train, train_idx.tolist())
        self.val_set = Subset(full_train, val_idx.tolist()) if len(val_idx) else None
        self.test_set = test

    @property
    def collate_fn(self) -> Callable[[Any], Any]:
        """Batch collation used by every loader."""
        return collate_batch

    def _loader(self, dataset: Dataset | None, train: bool) -> DataLoader:
        if dataset is None:
            raise RuntimeError(f"{type(self).__name__}.setup() must be called before loaders")
        sampler = training_sampler(self.sampling, len(dataset), self.seed) if train else None
        return DataLoader(
            dataset,
            batch_size=self.batch_size,
            sampler=sampler,
            drop_last=train and self.drop_last,
            num_workers=self.num_workers,
            pin_memory=self.pin_memory,
            collate_fn=self.collate_fn,
            persistent_workers=self.num_workers > 0,
        )

    def on_after_batch_transfer(self, batch: Any, dataloader_idx: int) -> Any:
        """Shift training images when ``augment_shift`` > 0; other stages pass through."""
        trainer = self.trainer
        if not self.augment_shift or trainer is None or not trainer.training:
            return batch
        assert self.image_shape is not None  # checked in setup()
        if self._augment_rng is None:  # one stream per DDP rank
            self._augment_rng = torch.Generator().manual_seed(self.seed + trainer.global_rank)
        x, y = batch[0], batch[1]
        x = random_shift(x, self.image_shape, self.augment_shift, self._augment_rng)
        return (x, y, *batch[2:])

    def train_dataloader(self) -> DataLoader:
        return self._loader(self.train_set, train=True)

    def val_dataloader(self) -> DataLoader:
        """Loader over the validation split; with val_size=0, over the test split (warns once)."""
        if self.val_set is None and self.test_set is not None:
            if not self._warned_no_val:
                warnings.warn(
                    f"{self.name}: val_size=0, so validation runs on the TEST split; "
                    f"do not use val metrics for model selection.",
                    stacklevel=2,
                )
                self._warned_no_val = True
            return self._loader(self.test_set, train=False)
        return self._loader(self.val_set, train=False)

    def test_dataloader(self) -> DataLoader:
        return self._loader(self.test_set, train=False)
