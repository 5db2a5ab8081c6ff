"""Wall-clock measurement: warm-up excluded, repeats interleaved across settings, median and
range."""

from __future__ import annotations

import statistics
import time
from collections.abc import Hashable
from dataclasses import dataclass, replace
from typing import Any

import torch

from bstdg.bench.models import Runner


def set_threads(n: int | None) -> int | None:
    """Set numba's and then torch's thread count to ``n`` (default: torch's current count).

    numba first: launching numba's OpenMP threading layer resets the OpenMP thread count
    that ``torch.get_num_threads()`` reports, so torch is set after it. Returns numba's
    thread count (capped by NUMBA_NUM_THREADS), or None without numba.
    """
    if n is not None and n < 1:
        raise ValueError(f"--threads must be >= 1, got {n}")
    n = torch.get_num_threads() if n is None else n
    try:
        import numba

        # the backend picks numba's threading layer on import: before any numba call
        import bstdg.snn.backends.numba.backend  # noqa: F401
    except ImportError:
        numba = None
    if numba is not None:
        numba.set_num_threads(max(1, min(n, numba.config.NUMBA_NUM_THREADS)))
    torch.set_num_threads(n)
    return None if numba is None else int(numba.get_num_threads())


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def summarize(values: list[float]) -> dict[str, Any]:
    return {"median": statistics.median(values), "min": min(values), "max": max(values),
            "values": list(values)}


def _run(fn: Any, n: int, batch: int, device: torch.device) -> float:
    sync(device)
    start = time.perf_counter()
    for lo in range(0, n, batch):
        fn(lo, min(n, lo + batch))
    sync(device)
    return time.perf_counter() - start


def _rate(fn: Any, n: int, batch: int, device: torch.device, min_seconds: float) -> float:
    """Samples/s of whole passes of ``fn`` over n samples, repeated until ``min_seconds`` have
    elapsed (at least one pass): a timing of a few milliseconds is mostly scheduler noise."""
    samples, seconds = 0, 0.0
    while samples == 0 or seconds < min_seconds:
        seconds += _run(fn, n, batch, device)
        samples += n
    return samples / seconds


def train_count(n: int, batch: int) -> int:
    """Samples per timed training pass: n (the last batch may be partial), >= one batch."""
    return max(batch, n)


@dataclass
class Setting:
    """One thing to time: a runner, its training and inference sample counts, its
    inference batch."""

    runner: Runner
    n_train: int
    n_infer: int
    infer_batch: int


def _inference_kinds(runner: Runner) -> dict[str, Any]:
    kinds = {"infer": runner.infer_batch}
    if runner.infer_early_exit_batch is not None:
        kinds["infer_early_exit"] = runner.infer_early_exit_batch
    return kinds


def measure(settings: dict[Hashable, Setting], repeats: int, batch: int, epoch_samples: int,
            device: torch.device, min_seconds: float = 0.0,
            warmup_batches: int = 2) -> dict[Hashable, dict[str, Any]]:
    """Time training and inference (and early exit where a runner has it) of every setting,
    ``repeats`` times, **interleaved**: repeat r times each setting in turn, so that a change
    in the machine's load between repeats hits every setting alike, and the ratio of two
    settings can be formed per repeat (:func:`bstdg.bench.report.per_repeat_ratios`).

    The warm-up (a few training batches, one inference batch per setting: numba compilation
    or cache load, allocator and thread-pool start-up) is not timed. Each timing runs whole
    passes until ``min_seconds`` have elapsed. Epoch time is the per-sample time times
    ``epoch_samples`` (extrapolated when fewer samples were measured).
    """
    settings = {key: replace(st, n_train=train_count(st.n_train, batch),
                             n_infer=max(1, st.n_infer)) for key, st in settings.items()}
    rates: dict[Hashable, dict[str, list[float]]] = {}
    for key, st in settings.items():
        _run(st.runner.train_batch, warmup_batches * batch, batch, device)
        for fn in _inference_kinds(st.runner).values():
            _run(fn, min(st.n_infer, st.infer_batch), st.infer_batch, device)
        rates[key] = {kind: [] for kind in ("train", *_inference_kinds(st.runner))}
    for _ in range(repeats):
        for key, st in settings.items():
            rates[key]["train"].append(
                _rate(st.runner.train_batch, st.n_train, batch, device, min_seconds))
        for key, st in settings.items():
            for kind, fn in _inference_kinds(st.runner).items():
                rates[key][kind].append(_rate(fn, st.n_infer, st.infer_batch, device,
                                              min_seconds))
    return {key: _entry(st, rates[key], repeats, batch, epoch_samples)
            for key, st in settings.items()}


def _entry(st: Setting, rates: dict[str, list[float]], repeats: int, batch: int,
           epoch_samples: int) -> dict[str, Any]:
    train = rates["train"]
    entry: dict[str, Any] = {
        "train": {
            "samples_measured": st.n_train,
            "epoch_samples": epoch_samples,
            "extrapolated": st.n_train != epoch_samples,
            "batch_size": batch,
            "epoch_s": summarize([epoch_samples / r for r in train]),
            "samples_per_s": summarize(train),
        },
        "repeats": repeats,
    }
    for kind, values in rates.items():
        if kind != "train":
            entry[kind] = {"samples_measured": st.n_infer, "batch_size": st.infer_batch,
                           "samples_per_s": summarize(values)}
    return entry
