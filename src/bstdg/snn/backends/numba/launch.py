"""The host side of the numba kernels: numpy views of torch tensors, thread counts and
launches, and the errors for spike times a kernel refused.

numba's thread count follows ``torch.get_num_threads()`` (capped by NUMBA_NUM_THREADS) for
batches of at least ``PARALLEL_MIN_BATCH`` samples; smaller batches run on one thread.
Starting the OpenMP pool can reset torch's thread count, so every launch restores it.
"""

from __future__ import annotations

import os
import threading
from functools import lru_cache
from typing import Any

import numba
import numpy as np
import torch

from bstdg.snn.backends.numba.layer_kernels import BINARIZE
from bstdg.snn.backends.numba.primitives import Kernel, PairTable, SpikeCSR
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import check_times

# numba's threading layers must not be entered from two threads at once (workqueue aborts).
_LAUNCH_LOCK = threading.Lock()

# Batches smaller than this run the kernels on one thread (a handful of samples is not
# worth a parallel region). With the OpenMP layer, batch-64 training steps on 2 threads ran
# at 28-34k samples/s with every batch parallel against 23-26k with batches under 256 serial
# (the serial rule only paid off under the workqueue layer). BSTDG_NUMBA_PARALLEL_MIN_BATCH
# (read at import) overrides it.
PARALLEL_MIN_BATCH = int(os.environ.get("BSTDG_NUMBA_PARALLEL_MIN_BATCH", "16"))


def threads_for(batch: int) -> int:
    """numba threads for a batch: torch's count (capped by NUMBA_NUM_THREADS), or 1 for a
    batch below ``PARALLEL_MIN_BATCH``."""
    if batch < PARALLEL_MIN_BATCH:
        return 1
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def launch(kernel: Kernel, n_threads: int, n_rows: int, *args: Any) -> None:
    """Run ``kernel`` over ``n_rows`` rows in ``n_threads`` chunks.

    One thread calls the kernel's serial body directly, so no threading layer is entered (no
    fork/join, no worker to wake). Several threads run the parallel kernel and leave torch's
    thread count unchanged (starting an OpenMP layer can reset it)."""
    if n_threads <= 1:
        kernel.serial(*args, 0, n_rows)
        return
    torch_threads = torch.get_num_threads()
    with _LAUNCH_LOCK:
        if numba.get_num_threads() != n_threads:
            numba.set_num_threads(n_threads)
        kernel.parallel(*args, n_threads)
    if torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)


def as_numpy(x: torch.Tensor) -> np.ndarray:
    """A numpy view of a CPU tensor (conversions are then done by single-threaded numpy,
    so no torch OpenMP team is left spinning while the numba kernel runs)."""
    return x.detach().cpu().numpy()


def times_view(t: torch.Tensor) -> np.ndarray:
    """Spike times as a C-contiguous numpy array in their own dtype (int or float)."""
    arr = as_numpy(t)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        arr = arr.astype(np.int64)
    return np.ascontiguousarray(arr)


def float_array(x: torch.Tensor) -> np.ndarray:
    """A C-contiguous float32 or float64 array of ``x`` (other dtypes as float64)."""
    arr = as_numpy(x)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def check_times_array(t: np.ndarray, T: int) -> None:
    """:func:`~bstdg.snn.spikes.check_times` on a numpy array of times (any int or float
    dtype), so that every backend refuses bad times with the same message."""
    t = np.asarray(t)
    if t.dtype.kind == "u":  # torch has no min/max for uint16-64: compare as int64
        t = t.astype(np.int64)
    check_times(torch.from_numpy(np.ascontiguousarray(t)), T)


def times_error(t: np.ndarray, T: int) -> ValueError:
    """The error :func:`check_times_array` gives for times a kernel refused (outside
    [0, T], or not integers)."""
    try:
        check_times_array(t, T)
    except ValueError as err:
        return err
    return ValueError(f"spike times must lie in [0, T={T}] and be integers (T = no spike)")


def check_range(t: np.ndarray, T: int) -> None:
    """Raise unless every time lies in [0, T] (where no kernel checks it on the way)."""
    if t.size and not bool(np.all((t >= 0) & (t <= T))):
        raise times_error(t, T)


def theta_array(theta: torch.Tensor, n_out: int) -> np.ndarray:
    """The (n_out,) float64 thresholds of a per-neuron, per-layer or scalar ``theta``."""
    arr = as_numpy(theta).reshape(-1)
    if arr.shape[0] == n_out:
        return arr.astype(np.float64)  # a copy: np.broadcast_to costs 10 us a call
    return np.ascontiguousarray(np.broadcast_to(arr, (n_out,)), dtype=np.float64)


def empty_csr(batch: int, n_in: int) -> SpikeCSR:
    """Unfilled per-sample CSR of sorted spiking inputs."""
    return SpikeCSR(np.empty((batch, n_in), np.int32), np.empty((batch, n_in), np.int32),
                    np.empty(batch, np.int32))


def rows_of_transpose(weight: torch.Tensor) -> np.ndarray:
    """weight (N_out, N_in) as a C-contiguous (N_in, N_out) array: a view when the weight is
    stored transposed (as :class:`~bstdg.snn.layers.SpikingLinear` stores it), else a copy."""
    w_t = as_numpy(weight).T
    if w_t.dtype not in (np.float32, np.float64):
        w_t = w_t.astype(np.float32)
    return np.ascontiguousarray(w_t)


def sign_rows(w_t: np.ndarray, batch: int) -> np.ndarray:
    """sign(w_t) as int8 (sign(0) = +1), same (N_in, N_out) layout, on the threads of a
    ``batch``."""
    w8 = np.empty(w_t.shape, np.int8)
    launch(BINARIZE, threads_for(batch), w_t.shape[0], w_t, w8)
    return w8


@lru_cache(maxsize=64)
def pair_table(kernel: KernelSpec, T: int) -> PairTable:
    """``kernel.pair_table(T)`` as the kernels read it (-weight), built once per
    (kernel, T)."""
    weight, causal = kernel.pair_table(T)
    return PairTable((-weight).contiguous().numpy(), causal.numpy(), T)
