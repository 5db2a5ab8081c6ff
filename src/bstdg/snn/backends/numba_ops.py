"""Event-driven fused CPU backend (numba), same interface and results as the reference.

Forward, per sample (parallel over the batch): sort the spiking inputs by time, add the
weight rows of every input of a time bin into the potential vector, and after each
non-empty bin test the unfired neurons for V > theta. +-1 weights are accumulated exactly
from an int8 copy (int16 potentials below 2**14 inputs, int32 above); real weights in
float64 with the reference's rounding order
(bin sum first), so spike times are identical to ``forward_reference``.

Backward: one fused pass over the spiking inputs of each sample, parallel over batch
chunks (one per thread, each with its own float32 dW accumulator; the first is the
gradient itself, the others are added to it where their inputs spiked). Gradients match
``grads_reference`` to float rounding; the dW summation order, and so its last float32
bits, can depend on the thread count.

The backend (:class:`NumbaBackend`, used by the autograd Function) reads the latent
weights in their transposed storage, takes and returns float spike times without
conversions, and hands the per-sample sorted inputs of the forward to the backward.
``forward_numba`` / ``grads_numba`` are the same kernels as plain functions of spike times
and forward weights, like ``forward_reference`` / ``grads_reference``.

numba's thread count follows ``torch.get_num_threads()`` (capped by NUMBA_NUM_THREADS) for
batches of at least ``PARALLEL_MIN_BATCH`` samples; smaller batches run on one thread.
numba's threading layer is chosen in the order OpenMP, TBB, workqueue unless
NUMBA_THREADING_LAYER says otherwise. Measured here (``bstdg-bench --quick``), workqueue
hands every launch to a worker thread even on one thread: training 14-19k samples/s against
25-28k with OpenMP, and 2-thread inference 58-64k against 114-154k. Starting the OpenMP pool
can reset torch's thread count, so every launch restores it. On AVX-512 CPUs the kernels are
compiled for 512-bit vectors (:mod:`bstdg.snn.backends.numba_target`).
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numba
import numpy as np
import torch

from bstdg.snn.backends.base import (
    BackendBase,
    check_layer,
    check_layer_inputs,
    check_weight_shape,
    trim_window,
    untrim,
)
from bstdg.snn.backends.numba_target import use_wide_vectors
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import SpikeTimes, check_batch_shape, check_times

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]
use_wide_vectors()

# after the threading layer and the compile target are set
from bstdg.snn.backends import numba_kernels as _k  # noqa: E402
from bstdg.snn.backends.numba_kernels import (  # noqa: E402
    FALLBACK_CODES,
    PRED_OUT_OF_RANGE,
    TIMES_OUT_OF_RANGE,
    Early,
    GradOut,
    Kernel,
    LayerOut,
    PairTable,
    SpikeCSR,
)

# numba's threading layers must not be entered from two threads at once (workqueue aborts).
_LAUNCH_LOCK = threading.Lock()

# Batches smaller than this run the kernels on one thread (a handful of samples is not
# worth a parallel region). With the OpenMP layer, batch-64 training steps on 2 threads ran
# at 28-34k samples/s with every batch parallel against 23-26k with batches under 256 serial
# (the serial rule only paid off under the workqueue layer). BSTDG_NUMBA_PARALLEL_MIN_BATCH
# (read at import) overrides it.
PARALLEL_MIN_BATCH = int(os.environ.get("BSTDG_NUMBA_PARALLEL_MIN_BATCH", "16"))


def _threads_for(batch: int) -> int:
    """numba threads for a batch: torch's count (capped by NUMBA_NUM_THREADS), or 1 for a
    batch below ``PARALLEL_MIN_BATCH``."""
    if batch < PARALLEL_MIN_BATCH:
        return 1
    return max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))


def _launch(kernel: Kernel, n_threads: int, n_rows: int, *args: Any) -> None:
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


def _numpy(x: torch.Tensor) -> np.ndarray:
    """A numpy view of a CPU tensor (conversions are then done by single-threaded numpy,
    so no torch OpenMP team is left spinning while the numba kernel runs)."""
    return x.detach().cpu().numpy()


def _times_view(t: torch.Tensor) -> np.ndarray:
    """Spike times as a C-contiguous numpy array in their own dtype (int or float)."""
    arr = _numpy(t)
    if arr.dtype == np.bool_ or arr.dtype.kind not in "iuf":
        arr = arr.astype(np.int64)
    return np.ascontiguousarray(arr)


def _check_times(t: np.ndarray, T: int) -> None:
    """:func:`~bstdg.snn.spikes.check_times` on a numpy array of times (any int or float
    dtype), so that every backend refuses bad times with the same message."""
    t = np.asarray(t)
    if t.dtype.kind == "u":  # torch has no min/max for uint16-64: compare as int64
        t = t.astype(np.int64)
    check_times(torch.from_numpy(np.ascontiguousarray(t)), T)


def _times_error(t: np.ndarray, T: int) -> ValueError:
    """The error :func:`_check_times` gives for times a kernel refused (outside [0, T], or
    not integers)."""
    try:
        _check_times(t, T)
    except ValueError as err:
        return err
    return ValueError(f"spike times must lie in [0, T={T}] and be integers (T = no spike)")


def _check_range(t: np.ndarray, T: int) -> None:
    """Raise unless every time lies in [0, T] (where no kernel checks it on the way)."""
    if t.size and not bool(np.all((t >= 0) & (t <= T))):
        raise _times_error(t, T)


def _theta_array(theta: torch.Tensor, n_out: int) -> np.ndarray:
    """The (n_out,) float64 thresholds of a per-neuron, per-layer or scalar ``theta``."""
    arr = _numpy(theta).reshape(-1)
    if arr.shape[0] == n_out:
        return arr.astype(np.float64)  # a copy: np.broadcast_to costs 10 us a call
    return np.ascontiguousarray(np.broadcast_to(arr, (n_out,)), dtype=np.float64)


def _empty_csr(batch: int, n_in: int) -> SpikeCSR:
    """Unfilled per-sample CSR of sorted spiking inputs."""
    return SpikeCSR(np.empty((batch, n_in), np.int32), np.empty((batch, n_in), np.int32),
                    np.empty(batch, np.int32))


def _rows_of_transpose(weight: torch.Tensor) -> np.ndarray:
    """weight (N_out, N_in) as a C-contiguous (N_in, N_out) array: a view when the weight is
    stored transposed (as :class:`~bstdg.snn.layers.SpikingLinear` stores it), else a copy."""
    w_t = _numpy(weight).T
    if w_t.dtype not in (np.float32, np.float64):
        w_t = w_t.astype(np.float32)
    return np.ascontiguousarray(w_t)


def _sign_rows(w_t: np.ndarray, batch: int) -> np.ndarray:
    """sign(w_t) as int8 (sign(0) = +1), same (N_in, N_out) layout."""
    w8 = np.empty(w_t.shape, np.int8)
    _launch(_k.BINARIZE, _threads_for(batch), w_t.shape[0], w_t, w8)
    return w8


@dataclass
class SavedInputs:
    """What the forward leaves for the backward: the sorted spiking inputs (None when the
    forward ran on a shortened window, whose inputs are not the ones the backward's causal
    mask needs) and the latent w^T (N_in, N_out)."""

    csr: SpikeCSR | None
    w_t: np.ndarray


def _forward(
    t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, T: int, delay: int,
    binary: bool, times_dtype: torch.dtype,
) -> tuple[SpikeTimes, SpikeCSR, np.ndarray]:
    """The forward kernel on the latent ``weight``: (SpikeTimes with times in
    ``times_dtype``, the sorted inputs, the latent w^T)."""
    batch = t_in.shape[0]
    n_out, n_in = weight.shape
    t_np = _times_view(t_in)
    if batch == 0 or n_out == 0:
        _check_times(t_np, T)
        out = SpikeTimes(torch.full((batch, n_out), T, dtype=times_dtype),
                         torch.zeros(batch, n_out), torch.zeros(batch, n_out))
        empty = np.zeros((batch, n_in), np.int32)
        return out, SpikeCSR(empty, empty, np.zeros(batch, np.int32)), np.zeros(
            (n_in, n_out), np.float32)
    w_t = _rows_of_transpose(weight)
    w_fwd = _sign_rows(w_t, batch) if binary else w_t.astype(np.float64)
    out = SpikeTimes(torch.empty(batch, n_out, dtype=times_dtype),
                     torch.empty(batch, n_out, dtype=torch.float32),
                     torch.empty(batch, n_out, dtype=torch.float32))
    csr = _empty_csr(batch, n_in)
    _launch(_k.FORWARD, _threads_for(batch), batch, t_np, w_fwd, _theta_array(theta, n_out),
            int(T), int(delay), LayerOut(*(x.numpy() for x in out)), csr)
    if csr.nspk.min() == TIMES_OUT_OF_RANGE:
        raise _times_error(t_np, T)
    return out, csr, w_t


@lru_cache(maxsize=64)
def _pair_table(spec: KernelSpec, T: int) -> PairTable:
    """``spec.pair_table(T)`` as the kernel reads it (-weight), built once per (kernel, T)."""
    weight, causal = spec.pair_table(T)
    return PairTable((-weight).contiguous().numpy(), causal.numpy(), T)


def _float_array(x: torch.Tensor) -> np.ndarray:
    arr = _numpy(x)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def _grads(
    csr: SpikeCSR, t_out: torch.Tensor, g: torch.Tensor, wb_t: np.ndarray, spec: KernelSpec,
    T: int, need_t_in: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """The backward kernel from the sorted inputs; dW comes back as (N_out, N_in) with the
    strides of a transposed-stored weight (autograd then hands it to such a parameter as
    .grad without a copy)."""
    batch, n_in = csr.order.shape
    n_out = t_out.shape[1]
    if batch == 0 or n_in == 0 or n_out == 0:
        return (torch.zeros(n_out, n_in, dtype=torch.float32),
                torch.zeros(batch, n_in) if need_t_in else None)
    grad_t_in = torch.empty(batch, n_in) if need_t_in else None  # the kernel zeroes each row
    n_chunks = min(_threads_for(batch), batch)
    grad_w_t = torch.empty(n_in, n_out, dtype=torch.float32)
    out = GradOut(grad_w_t.numpy(), np.empty((n_chunks - 1, n_in, n_out), dtype=np.float32),
                  np.empty((n_chunks, n_in), dtype=np.uint8),
                  grad_t_in.numpy() if need_t_in else np.empty((0, 0), np.float32))
    _launch(_k.GRADS, n_chunks, batch, csr, _times_view(t_out), _float_array(g), wb_t,
            _pair_table(spec, int(T)), need_t_in, out)
    _launch(_k.SUM_PARTS, n_chunks, n_in, out)
    return grad_w_t.t(), grad_t_in


def _sorted_inputs(t_in: torch.Tensor, T: int) -> SpikeCSR:
    """The CSR of ``t_in`` without a forward (the sort validates the times)."""
    batch, n_in = t_in.shape
    t_np = _times_view(t_in)
    csr = _empty_csr(batch, n_in)
    if batch and n_in:
        _launch(_k.SORT_BATCH, _threads_for(batch), batch, t_np, int(T), csr)
        if csr.nspk.min() == TIMES_OUT_OF_RANGE:
            raise _times_error(t_np, T)
    return csr


class NumbaBackend(BackendBase):
    """The event-driven CPU backend (see the module docstring)."""

    name = "numba"
    checks_times = True

    def forward(
        self, t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, T: int, delay: int,
        binary: bool, keep: bool, window_trim: int = 0,
    ) -> tuple[SpikeTimes, SavedInputs | None]:
        """The kernels read weight^T rows (one input's weights to every output); a weight
        stored transposed (strides (1, N_out)) is used without a copy."""
        if window_trim:
            t_sim, T_sim = trim_window(t_in, T, window_trim)
            out, _, w_t = _forward(t_sim, weight, theta, T_sim, delay, binary, torch.float32)
            return untrim(out, T_sim, T), (SavedInputs(None, w_t) if keep else None)
        out, csr, w_t = _forward(t_in, weight, theta, T, delay, binary, torch.float32)
        return out, (SavedInputs(csr, w_t) if keep else None)

    def grads(
        self, saved: SavedInputs | None, t_in: torch.Tensor, t_out: torch.Tensor,
        g: torch.Tensor, w_back: torch.Tensor | None, spec: KernelSpec, T: int,
        need_t_in: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        csr = saved.csr if saved is not None else None
        if csr is None:  # no forward, or one on a shortened window: sort t_in here
            csr = _sorted_inputs(t_in, T)
            _check_range(_times_view(t_out), T)
        wb_t = saved.w_t if w_back is None else _rows_of_transpose(w_back)
        return _grads(csr, t_out, g, wb_t, spec, T, need_t_in)

    def net_forward(
        self, net: Any, t_in: torch.Tensor, keep: list[torch.Tensor | None]
    ) -> list[torch.Tensor] | None:
        """The whole net in one kernel launch per pass (``numba_net``) when its options
        allow it and the batch runs on one thread."""
        from bstdg.snn.backends.numba_net import check_keep, fusable, run_net

        check_batch_shape(t_in)
        if _threads_for(t_in.shape[0]) > 1 or not fusable(net):
            return None
        first = net.layers[0]
        check_layer(t_in, first.weight, net.T, first.spec.delay)
        for k in range(1, len(net.layers)):  # the kernel reads them unchecked
            check_weight_shape(net.layers[k].weight, net.layers[k - 1].weight.shape[0])
        check_keep(keep, [layer.weight.shape[0] for layer in net.layers[:-1]], t_in.shape[0])
        if t_in.dtype == torch.float64:  # 7.99999999 would round to 8 in float32
            check_times(t_in, net.T)
        return list(run_net(net, t_in.float(), keep))

    def predict_early_exit(
        self, net: Any, t_in: torch.Tensor, fallback: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Event-driven across all layers for binarized nets that decide on the plain
        window; otherwise the full forward and ``decide``."""
        first = net.layers[0].spec
        if not (first.binary and net.fallback_offset == 1 and first.window_trim == 0):
            return super().predict_early_exit(net, t_in, fallback)
        for k, layer in enumerate(net.layers):  # integer times are range-checked by the kernel
            check_layer_inputs(t_in if k == 0 else None, layer.weight, layer.threshold, net.T,
                               self)
        return predict_early_exit_numba(
            t_in, [layer.weight for layer in net.layers],
            [layer.threshold for layer in net.layers], net.T, first.delay, fallback,
        )


BACKEND = NumbaBackend()


def forward_numba(
    t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor, T: int, delay: int
) -> SpikeTimes:
    """Same semantics as ``forward_reference`` (event-driven; cost independent of T); +-1
    weights take the exact integer path."""
    binary = bool(np.all(np.abs(_numpy(w_hat)) == 1))
    return _forward(t_in, w_hat, theta, T, delay, binary, torch.int64)[0]


def grads_numba(
    t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor, w_back: torch.Tensor,
    spec: KernelSpec, T: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same as ``grads_reference``, looping only over spiking inputs (sorted by time)."""
    grad_w, grad_t_in = BACKEND.grads(None, t_in, t_out, g, w_back, spec, T)
    return grad_w.contiguous(), grad_t_in


def predict_early_exit_numba(
    t_in: torch.Tensor,
    weights: list[torch.Tensor],
    thresholds: list[torch.Tensor],
    T: int,
    delay: int,
    fallback: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(decisions, decision steps) of a binarized network (latent ``weights``, forward
    sign(W)) simulated across all layers in time order and stopped at the first output
    spike; the same decisions as the full forward followed by ``readout.decide``."""
    from numba.typed import List

    batch = t_in.shape[0]
    t_np = _times_view(t_in)
    w_list, th_list = List(), List()
    narrow = all(_k.narrow_potentials(weight.shape[1]) for weight in weights)
    for weight, theta in zip(weights, thresholds, strict=True):
        w_list.append(_sign_rows(_rows_of_transpose(weight), batch))
        thr = np.empty(weight.shape[0], np.int16 if narrow else np.int32)
        th_list.append(_k.int_thresholds(_theta_array(theta, weight.shape[0]), thr))
    res = Early(np.empty(batch, np.int64), np.empty(batch, np.int64))
    if batch:
        _launch(_k.EARLY_EXIT, _threads_for(batch), batch, t_np, w_list, th_list, int(T),
                int(delay), FALLBACK_CODES[fallback], res)
        if res.pred.min() == PRED_OUT_OF_RANGE:
            raise _times_error(t_np, T)
    return torch.from_numpy(res.pred), torch.from_numpy(res.step)
