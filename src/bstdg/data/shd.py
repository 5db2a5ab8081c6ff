"""Spiking Heidelberg Digits read offline through tonic, as padded [time_s, unit] events."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import h5py
import numpy as np
import torch
from tonic.datasets import SHD
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


class OfflineSHD(SHD):
    """tonic's SHD that needs only `<save_to>/SHD/shd_{train,test}.h5` and never downloads."""

    def __init__(self, save_to: str | Path, train: bool = True) -> None:
        self._save_to = Path(save_to)
        try:
            super().__init__(str(save_to), train=train)
        except KeyError:
            self.classes = None
            self._speaker = None

    @property
    def location_on_system(self) -> str:
        """Always `<save_to>/SHD` (tonic derives the folder from the class name)."""
        return str(self._save_to / "SHD")

    @location_on_system.setter
    def location_on_system(self, value: str) -> None:
        """Ignore tonic's class-name-based folder."""

    def _check_exists(self) -> bool:
        return Path(self.location_on_system, self.data_filename).is_file()

    def download(self) -> None:
        raise not_found(Path(self.location_on_system, self.data_filename), "SHD", HOW_TO_GET)


class EventDataset(Dataset):
    """In-memory list of (E, 2) float32 [time_s, unit] arrays with int labels."""

    def __init__(self, events: list[np.ndarray], labels: np.ndarray) -> None:
        self.events = events
        self.labels = np.asarray(labels, dtype=np.int64)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        return self.events[i], int(self.labels[i])


def _sample_problem(path: Path, i: int, exc: Exception) -> str:
    """Why sample ``i`` of an SHD file cannot be read (named for the error message)."""
    try:
        with h5py.File(path, "r") as fh:
            n_times, n_units = len(fh["spikes/times"][i]), len(fh["spikes/units"][i])
    except Exception:
        return f"sample {i} cannot be read ({exc})"
    if n_times != n_units:
        return (f"sample {i} has {n_times} spike times but {n_units} unit ids (spikes/times "
                f"and spikes/units must have the same length per sample)")
    return f"sample {i} cannot be read ({exc})"


def load_shd(root: Path, train: bool) -> EventDataset:
    """Read one SHD split via tonic into memory; times in seconds, sorted by time."""
    path = root / "SHD" / ("shd_train.h5" if train else "shd_test.h5")
    check_h5(path)
    dataset = OfflineSHD(root, train=train)
    events, labels = [], np.empty(len(dataset), dtype=np.int64)
    for i in range(len(dataset)):
        try:
            ev, target = dataset[i]
        except ValueError as exc:  # tonic builds the events from times and units together
            raise corrupt(path, _sample_problem(path, i, exc)) from exc
        order = np.argsort(ev["t"], kind="stable")
        sample = np.empty((len(ev), 2), dtype=np.float32)
        sample[:, 0] = ev["t"][order] / 1e6
        sample[:, 1] = ev["x"][order]
        if len(ev) and (ev["x"].min() < 0 or ev["x"].max() >= N_UNITS):
            raise corrupt(path, f"sample {i} has unit ids outside 0..{N_UNITS - 1}")
        events.append(sample)
        labels[i] = int(target)
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
        n_inputs: int | None = None,
        n_classes: int | None = None,
        sampling: str = "permutation",
        drop_last: bool = False,
    ) -> None:
        super().__init__(data_dir, batch_size, num_workers, pin_memory, val_size, seed,
                         sampling, drop_last)
        self.name = "shd"
        self._check_declared(n_inputs, n_classes)

    @property
    def collate_fn(self) -> Any:
        return pad_events

    def _load(self) -> tuple[Dataset, Dataset]:
        return load_shd(self.root, train=True), load_shd(self.root, train=False)
