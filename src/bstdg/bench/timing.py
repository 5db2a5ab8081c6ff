"""Wall-clock measurement: warm-up excluded, >= 1 timed repeats, median and range."""

from __future__ import annotations

import statistics
import time
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
        import bstdg.snn.backends.numba_ops  # noqa: F401
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


def train_count(n: int, batch: int) -> int:
    """Samples per timed training pass: n (the last batch may be partial), >= one batch."""
    return max(batch, n)


def _time_inference(fn: Any, n_infer: int, infer_batch: int, repeats: int,
                    device: torch.device) -> dict[str, Any]:
    """Samples/s of ``repeats`` passes of ``fn`` over n_infer samples, after one untimed batch."""
    _run(fn, min(n_infer, infer_batch), infer_batch, device)
    seconds = [_run(fn, n_infer, infer_batch, device) for _ in range(repeats)]
    return {
        "samples_measured": n_infer,
        "batch_size": infer_batch,
        "samples_per_s": summarize([n_infer / s for s in seconds]),
    }


def measure(runner: Runner, n_train: int, n_infer: int, repeats: int, batch: int,
            infer_batch: int, epoch_samples: int, device: torch.device,
            warmup_batches: int = 2) -> dict[str, Any]:
    """Time ``repeats`` training passes over n_train samples and inference over n_infer
    (also with early exit where the runner has it, under ``infer_early_exit``).

    The warm-up (a few training batches, one inference batch: numba compilation / cache
    load, allocator and thread-pool start-up) is not timed. Epoch time is the per-sample
    time times ``epoch_samples`` (extrapolated when fewer samples were measured).
    """
    n_train = train_count(n_train, batch)
    n_infer = max(1, n_infer)
    _run(runner.train_batch, warmup_batches * batch, batch, device)
    train_s = [_run(runner.train_batch, n_train, batch, device) for _ in range(repeats)]
    entry = {
        "train": {
            "samples_measured": n_train,
            "epoch_samples": epoch_samples,
            "extrapolated": n_train != epoch_samples,
            "batch_size": batch,
            "epoch_s": summarize([s / n_train * epoch_samples for s in train_s]),
            "samples_per_s": summarize([n_train / s for s in train_s]),
        },
        "infer": _time_inference(runner.infer_batch, n_infer, infer_batch, repeats, device),
        "repeats": repeats,
    }
    if runner.infer_early_exit_batch is not None:
        entry["infer_early_exit"] = _time_inference(runner.infer_early_exit_batch, n_infer,
                                                    infer_batch, repeats, device)
    return entry
