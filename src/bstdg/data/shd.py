"""Spiking Heidelberg Digits read offline from its h5 files, as padded [time_s, unit] events.

The files are read directly with h5py (keys ``spikes/times``, ``spikes/units``, ``labels``:
vlen arrays of event times in seconds and unit ids per sample, as Zenke lab distributes them)
rather than through ``tonic.datasets.SHD``. tonic's class derives its folder from the class
name and checks, downloads and unpacks the zip archives itself, so using it offline meant
overriding three of its internals; it quantizes times to whole microseconds and opens the file
once per sample; and it is GPL-3.0 and pulls in librosa. Reading two vlen datasets is a few
lines, keeps the exact stored times, and lets the tests run on small fake h5 files in the real
layout (``tests/helpers/data_fakes.py``). Downloading with checksums is `bstdg.data.download`.
``data=tonic`` with ``tonic.datasets.SHD`` (``experiment=shd_tonic_bstdg``) reads the same
files through tonic and gives the same spike times (``bstdg.data.tonic_events``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from torch.utils.data import Dataset

from bstdg.data.base import SplitDataModule, ValSize
from bstdg.data.errors import corrupt, not_found

HOW_TO_GET = (
    "Download shd_train.h5.gz and shd_test.h5.gz from https://zenkelab.org/datasets/ "
    "(see https://zenkelab.org/resources/spiking-heidelberg-datasets-shd/), gunzip them into "
    "<data_dir>/SHD/, e.g. with `python -m bstdg.data.download shd --to DIR`."
)
REQUIRED_KEYS = ("spikes/times", "spikes/units", "labels")
N_UNITS = 700
N_CLASSES = 20


def check_h5(path: Path) -> bool:
    """Validate an SHD h5 file's keys and lengths; return whether `extra/*` metadata exists."""
    if not path.is_file():
        raise not_found(path, "SHD", HOW_TO_GET)
    try:
        with h5py.File(path, "r") as fh:
            missing = [key for key in REQUIRED_KEYS if key not in fh]
            if missing:
                raise corrupt(
                    path, f"h5 file is missing key(s) {missing}; SHD needs {list(REQUIRED_KEYS)}"
                )
            lengths = {key: len(fh[key]) for key in REQUIRED_KEYS}
            has_extra = "extra/keys" in fh and "extra/speaker" in fh
    except OSError as exc:
        raise corrupt(path, f"not a readable HDF5 file ({exc})") from exc
    if len(set(lengths.values())) != 1:
        raise corrupt(path, f"keys have different lengths {lengths}")
    return has_extra


class EventDataset(Dataset):
    """In-memory list of (E, 2) float32 [time_s, unit] arrays with int labels."""

    def __init__(self, events: list[np.ndarray], labels: np.ndarray) -> None:
        self.events = events
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.events[i], int(self.labels[i])


def _read_sample(path: Path, i: int, times: np.ndarray, units: np.ndarray) -> np.ndarray:
    """Sample ``i`` as (E, 2) float32 [time_s, unit] rows sorted by time (stable)."""
    if len(times) != len(units):
        raise corrupt(path, f"sample {i} has {len(times)} spike times but {len(units)} unit ids "
                            f"(spikes/times and spikes/units must have the same length per "
                            f"sample)")
    if len(units) and (units.min() < 0 or units.max() >= N_UNITS):
        raise corrupt(path, f"sample {i} has unit ids outside 0..{N_UNITS - 1}")
    order = np.argsort(times, kind="stable")
    sample = np.empty((len(times), 2), dtype=np.float32)
    sample[:, 0] = times[order]
    sample[:, 1] = units[order]
    return sample


def load_shd(root: Path, train: bool) -> EventDataset:
    """Read one SHD split into memory; times in seconds, each sample sorted by time."""
    path = root / "SHD" / ("shd_train.h5" if train else "shd_test.h5")
    check_h5(path)
    try:
        with h5py.File(path, "r") as fh:
            all_times = fh["spikes/times"][:]
            all_units = fh["spikes/units"][:]
            labels = np.asarray(fh["labels"][:]).astype(np.int64)
    except (OSError, TypeError, ValueError) as exc:
        raise corrupt(path, f"spikes/times, spikes/units or labels cannot be read ({exc})"
                      ) from exc
    events = [
        _read_sample(path, i, np.asarray(t, dtype=np.float64).ravel(),
                     np.asarray(u).astype(np.int64).ravel())
        for i, (t, u) in enumerate(zip(all_times, all_units, strict=True))
    ]
    if len(labels) and (labels.min() < 0 or labels.max() >= N_CLASSES):
        raise corrupt(path, f"labels outside 0..{N_CLASSES - 1}")
    return EventDataset(events, labels)


def pad_events(batch: list[tuple[np.ndarray, int]]) -> tuple[torch.Tensor, torch.Tensor]:
    """Collate to x float32 (B, E_max, 2) (padding rows [+inf, 0]; E_max >= 1) and y (B,)."""
    e_max = max([1, *(len(ev) for ev, _ in batch)])
    x = torch.zeros((len(batch), e_max, 2), dtype=torch.float32)
    x[:, :, 0] = float("inf")
    for i, (ev, _) in enumerate(batch):
        x[i, : len(ev)] = torch.from_numpy(ev)
    y = torch.tensor([label for _, label in batch], dtype=torch.int64)
    return x, y


class SHDDataModule(SplitDataModule):
    """SHD: batches x float32 (B, E_max, 2) padded events [time_s, unit], y int64 (B,)."""

    n_inputs = N_UNITS
    n_classes = N_CLASSES

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
    ) -> None:
        super().__init__(data_dir, batch_size, num_workers, pin_memory, val_size, seed,
                         sampling, drop_last)
        self.name = "shd"

    @property
    def collate_fn(self) -> Any:
        return pad_events

    def _load(self) -> tuple[Dataset, Dataset]:
        return load_shd(self.root, train=True), load_shd(self.root, train=False)
