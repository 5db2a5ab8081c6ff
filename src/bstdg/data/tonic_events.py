"""Any tonic event dataset (``pip install -e .[tonic]``; tonic is GPL-3.0) as padded events.

``data=tonic`` takes a tonic dataset class with its options (a Hydra ``_partial_`` of e.g.
``tonic.datasets.NMNIST`` or ``tonic.datasets.SHD``, with ``save_to``) and the arguments that
select its training and test splits. Each sample's structured events (fields ``t`` and
``x``, and ``y``, ``p`` where the sensor has them) become (E, 2) float32 rows ``[t, channel]``,
sorted by time, with ``t`` in the dataset's own unit (microseconds for tonic's datasets, whole
numbers, exact in float32 below 2^24 us = 16.7 s) and one channel per pixel and polarity::

    channel = (x * H + y) * P + p        sensor_size = (W, H, P)

so SHD's (700, 1, 1) gives the unit id (a one-polarity sensor ignores ``p``: tonic's SHD
events carry p = 1). Batches are those of ``data=shd``: x (B, E_max, 2)
padded with ``[+inf, 0]`` rows and y (B,), for ``encoder=shd_first_spike`` with ``t_window``
in the same unit (the first event of each channel, binned to T). With ``first_event_only``
(default) only each channel's first event is kept, all that encoder reads, so a dataset of
many events per sample fits in memory.

tonic finds its files under ``save_to``/<class name>/ in its own layout (the downloaded
archive beside the extracted files) and downloads them when they are missing and the
network is reachable.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import numpy as np
from torch.utils.data import Dataset

from bstdg.data.base import SplitDataModule, ValSize
from bstdg.data.errors import DatasetNotFoundError, InvalidDataConfigError
from bstdg.data.shd import EventDataset, pad_events

HOW_TO_GET = ("tonic looks for its files under save_to/<dataset class name>/ and downloads "
              "them when the network is reachable; see the dataset's tonic documentation.")


def event_rows(events: np.ndarray, sensor_size: tuple[int, ...],
               first_event_only: bool = True) -> np.ndarray:
    """A structured tonic event array -> (E, 2) float32 ``[t, channel]`` sorted by time
    (stable), channel = (x * H + y) * P + p; with ``first_event_only`` each channel's first
    event only."""
    if events.dtype.names is None or "t" not in events.dtype.names:
        raise InvalidDataConfigError(
            f"tonic events must be a structured array with a 't' field, got dtype "
            f"{events.dtype}: give data.dataset a tonic dataset class without a transform "
            f"that turns the events into frames or tensors")
    width, height, polarities = (tuple(int(n) for n in sensor_size) + (1, 1))[:3]
    present = {n for n in events.dtype.names if n != "p" or polarities > 1}  # SHD: p = 1, P = 1
    field = {name: np.asarray(events[name]).astype(np.int64)
             if name in present else np.zeros(len(events), np.int64)
             for name in ("x", "y", "p")}
    bad = [(n, int(v.min()), int(v.max()), size)
           for (n, v), size in zip(field.items(), (width, height, polarities), strict=True)
           if len(v) and (v.min() < 0 or v.max() >= size)]
    if bad:
        name, lo, hi, size = bad[0]
        raise InvalidDataConfigError(
            f"tonic events have {name} in [{lo}, {hi}], outside the sensor's 0..{size - 1} "
            f"(sensor_size {tuple(sensor_size)})")
    channel = (field["x"] * height + field["y"]) * polarities + field["p"]
    t = np.asarray(events["t"]).astype(np.float64)
    order = np.argsort(t, kind="stable")
    t, channel = t[order], channel[order]
    if first_event_only and len(t):
        _, first = np.unique(channel, return_index=True)
        keep = np.sort(first)
        t, channel = t[keep], channel[keep]
    return np.stack([t, channel], axis=1).astype(np.float32)


class TonicDataModule(SplitDataModule):
    """A tonic dataset: batches x float32 (B, E_max, 2) padded ``[t, channel]`` events,
    y int64 (B,); ``n_inputs`` = prod(sensor_size) channels."""

    def __init__(
        self,
        dataset: Callable[..., Any],
        n_classes: int,
        train_args: Mapping[str, Any] | None = None,
        test_args: Mapping[str, Any] | None = None,
        sensor_size: tuple[int, ...] | None = None,
        first_event_only: bool = True,
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
        if not callable(dataset):
            raise InvalidDataConfigError(
                f"data.dataset must be a tonic dataset class with its options, as a Hydra "
                f"partial (_target_: tonic.datasets.NMNIST, _partial_: true, save_to: ...), "
                f"got {dataset!r}")
        cls = dataset.func if isinstance(dataset, partial) else dataset
        size = sensor_size if sensor_size is not None else getattr(cls, "sensor_size", None)
        if size is None:
            raise InvalidDataConfigError(
                f"{getattr(cls, '__name__', cls)} has no sensor_size: set data.sensor_size "
                f"(W, H, P)")
        self.dataset, self.sensor_size = dataset, tuple(int(n) for n in size)
        self.train_args, self.test_args = dict(train_args or {}), dict(test_args or {})
        self.first_event_only = bool(first_event_only)
        self.n_inputs = int(np.prod(self.sensor_size))
        self.n_classes = int(n_classes)
        self.name = f"tonic:{getattr(cls, '__name__', 'dataset')}"

    @property
    def collate_fn(self) -> Any:
        return pad_events

    def _split(self, args: Mapping[str, Any]) -> EventDataset:
        try:
            source = self.dataset(**args)
        except (OSError, RuntimeError) as err:  # missing files and no network, bad archive
            raise DatasetNotFoundError(
                f"{self.name} split {dict(args)} could not be opened: {err}. {HOW_TO_GET}"
            ) from err
        rows, labels = [], []
        for i in range(len(source)):
            events, label = source[i]
            rows.append(event_rows(events, self.sensor_size, self.first_event_only))
            labels.append(int(label))
        labels_arr = np.asarray(labels, dtype=np.int64)
        if len(labels_arr) and (labels_arr.min() < 0 or labels_arr.max() >= self.n_classes):
            raise InvalidDataConfigError(
                f"{self.name} has labels in [{labels_arr.min()}, {labels_arr.max()}], outside "
                f"0..{self.n_classes - 1}: set data.n_classes")
        return EventDataset(rows, labels_arr)

    def _load(self) -> tuple[Dataset, Dataset]:
        return self._split(self.train_args), self._split(self.test_args)
