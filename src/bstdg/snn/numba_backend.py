"""Event-driven fused CPU backend (numba), same interface and results as the reference.

Forward, per sample (parallel over the batch): sort the spiking inputs by time, add the
weight rows of every input of a time bin into the potential vector, and after each
non-empty bin test the unfired neurons for V > theta. +-1 weights are accumulated exactly
as int32 from an int8 copy; real weights in float64 with the reference's rounding order
(bin sum first), so spike times are identical to ``forward_reference``.

Backward: one fused pass over the spiking inputs of each sample, parallel over batch
chunks (one per thread, each with its own float32 dW accumulator; the first is the
gradient itself, the others are added to it where their inputs spiked). Gradients match
``grads_reference`` to float rounding; the dW summation order, and so its last float32
bits, can depend on the thread count.

The layer entry points (``layer_forward`` / ``layer_grads``, used by the autograd
Function) read the latent weights in their transposed storage, take and return float
spike times without conversions, and hand the per-sample sorted inputs of the forward to
the backward.

numba's thread count follows ``torch.get_num_threads()`` (capped by NUMBA_NUM_THREADS) for
batches of at least ``PARALLEL_MIN_BATCH`` samples; smaller batches run on one thread.
numba's threading layer is chosen in the order OpenMP, TBB, workqueue unless
NUMBA_THREADING_LAYER says otherwise. Measured here (``bstdg-bench --quick``), workqueue
hands every launch to a worker thread even on one thread: training 14-19k samples/s against
25-28k with OpenMP, and 2-thread inference 58-64k against 114-154k. Starting the OpenMP pool
can reset torch's thread count, so every launch restores it.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from functools import lru_cache

import numba
import numpy as np
import torch

from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import SpikeTimes

if "NUMBA_THREADING_LAYER" not in os.environ:
    numba.config.THREADING_LAYER_PRIORITY = ["omp", "tbb", "workqueue"]

from bstdg.snn import numba_kernels as _k  # noqa: E402  (after the threading layer choice)

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


def _launch(kernel, n_threads: int, *args):
    """Run ``kernel`` over the rows of its first argument in ``n_threads`` chunks.

    One thread calls the kernel's serial body directly, so no threading layer is entered (no
    fork/join, no worker to wake). Several threads run the parallel kernel and leave torch's
    thread count unchanged (starting an OpenMP layer can reset it)."""
    if n_threads <= 1:
        return _k.SERIAL_BODIES[kernel.__name__](*args, 0, args[0].shape[0])
    torch_threads = torch.get_num_threads()
    with _LAUNCH_LOCK:
        if numba.get_num_threads() != n_threads:
            numba.set_num_threads(n_threads)
        result = kernel(*args, n_threads)
    if torch.get_num_threads() != torch_threads:
        torch.set_num_threads(torch_threads)
    return result


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


def _range_error(t: np.ndarray, T: int) -> ValueError:
    return ValueError(
        f"spike times must lie in [0, T={T}], got [{np.nanmin(t)}, {np.nanmax(t)}]"
    )


def _check_range(t: np.ndarray, T: int) -> None:
    """Raise unless every time lies in [0, T] (where no kernel checks it on the way)."""
    if t.size and not bool(np.all((t >= 0) & (t <= T))):
        raise _range_error(t, T)


def _theta_array(theta: torch.Tensor, n_out: int) -> np.ndarray:
    return np.ascontiguousarray(
        np.broadcast_to(_numpy(theta).reshape(-1), (n_out,)), dtype=np.float64
    )


@dataclass
class SavedInputs:
    """What the forward leaves for the backward: the per-sample sorted spiking inputs
    (CSR: ``order``/``tsort`` rows, ``nspk`` counts) and the latent w^T (N_in, N_out)."""

    order: np.ndarray
    tsort: np.ndarray
    nspk: np.ndarray
    w_t: np.ndarray | None


def _sorted_inputs(batch: int, n_in: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Empty per-sample CSR of sorted spiking inputs: order, tsort (B, N_in), nspk (B,)."""
    return (np.empty((batch, n_in), np.int32), np.empty((batch, n_in), np.int32),
            np.empty(batch, np.int32))


def _run_forward(t_np, w_t, binary, theta_np, T, delay, times_dtype):
    """The forward kernel on a non-empty batch: (SpikeTimes with times in ``times_dtype``,
    order, tsort, nspk)."""
    batch, n_in = t_np.shape
    n_out = w_t.shape[1]
    times = torch.empty(batch, n_out, dtype=times_dtype)
    v_fire = torch.empty(batch, n_out, dtype=torch.float32)
    v_end = torch.empty(batch, n_out, dtype=torch.float32)
    order, tsort, nspk = _sorted_inputs(batch, n_in)
    kernel = _k.forward_binary if binary else _k.forward_real
    _launch(kernel, _threads_for(batch), t_np, w_t, theta_np, int(T), int(delay), times.numpy(),
            v_fire.numpy(), v_end.numpy(), order, tsort, nspk)
    if nspk.min() < 0:
        raise _range_error(t_np, T)
    return SpikeTimes(times, v_fire, v_end), order, tsort, nspk


def _empty_result(batch: int, n_out: int, T: int, dtype: torch.dtype) -> SpikeTimes:
    return SpikeTimes(torch.full((batch, n_out), T, dtype=dtype),
                      torch.zeros(batch, n_out), torch.zeros(batch, n_out))


def forward_numba(
    t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor, T: int, delay: int
) -> SpikeTimes:
    """Same semantics as ``forward_reference`` (event-driven; cost independent of T)."""
    batch = t_in.shape[0]
    n_out = w_hat.shape[0]
    t_np = _times_view(t_in)
    if batch == 0 or n_out == 0:
        _check_range(t_np, T)
        return _empty_result(batch, n_out, T, torch.int64)
    w_np = _numpy(w_hat)
    if bool(np.all(np.abs(w_np) == 1)):
        w_t, binary = np.ascontiguousarray(w_np.T, dtype=np.int8), True
    else:
        w_t, binary = np.ascontiguousarray(w_np.T, dtype=np.float64), False
    return _run_forward(t_np, w_t, binary, _theta_array(theta, n_out), T, delay, torch.int64)[0]


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
    _launch(_k.binarize_rows, _threads_for(batch), w_t, w8)
    return w8


def layer_forward(
    t_in: torch.Tensor,
    weight: torch.Tensor,
    theta: torch.Tensor,
    T: int,
    delay: int,
    binary: bool,
    keep: bool,
) -> tuple[SpikeTimes, SavedInputs | None]:
    """The layer forward from the *latent* weight: sign(weight) (sign(0) = +1) when
    ``binary`` else weight. Times come back as float32 (integer-valued). With ``keep``,
    also returns what ``layer_grads`` needs (sorted inputs, weight^T).

    The kernels read weight^T rows (one input's weights to every output). A weight stored
    transposed (strides (1, N_out)) is used without a copy."""
    batch = t_in.shape[0]
    n_out, n_in = weight.shape
    t_np = _times_view(t_in)
    if batch == 0 or n_out == 0:
        _check_range(t_np, T)
        empty = np.zeros((batch, n_in), np.int32)
        saved = SavedInputs(empty, empty, np.zeros(batch, np.int32),
                            np.zeros((n_in, n_out), np.float32))
        return _empty_result(batch, n_out, T, torch.float32), (saved if keep else None)
    w_t = _rows_of_transpose(weight)
    w_fwd = _sign_rows(w_t, batch) if binary else w_t.astype(np.float64)
    out, order, tsort, nspk = _run_forward(
        t_np, w_fwd, binary, _theta_array(theta, n_out), T, delay, torch.float32
    )
    return out, (SavedInputs(order, tsort, nspk, w_t) if keep else None)


def _kappa_table(spec: KernelSpec, T: int) -> np.ndarray:
    """-kappa(delta) for delta = t_j - t_i in [-T, T], zero where a pair does not count.

    Built with the same torch expressions as ``grads_reference`` so values agree exactly.
    """
    delta = torch.arange(-T, T + 1, dtype=torch.float64)
    causal = (delta > 0) | (spec.inclusive & (delta == 0))
    kappa = torch.where(causal, spec.kappa(delta), torch.zeros_like(delta))
    if spec.anti_causal:
        kappa = kappa + torch.where(delta < 0, -spec.B * torch.exp(delta / spec.tau), 0.0)
    return (-kappa).contiguous().numpy()


@lru_cache(maxsize=64)
def _kappa(spec: KernelSpec, T: int) -> np.ndarray:
    """``_kappa_table``, built once per (kernel, T)."""
    return _kappa_table(spec, T)


def _grads_from_sorted(
    saved: SavedInputs, t_out: np.ndarray, g: np.ndarray, wb_t: np.ndarray,
    spec: KernelSpec, T: int, need_t_in: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    batch, n_in = saved.order.shape
    n_out = t_out.shape[1]
    if batch == 0 or n_in == 0 or n_out == 0:
        return (torch.zeros(n_out, n_in, dtype=torch.float32),
                torch.zeros(batch, n_in) if need_t_in else None)
    grad_t_in = torch.empty(batch, n_in) if need_t_in else None  # the kernel zeroes each row
    n_chunks = min(_threads_for(batch), batch)
    grad_w_t = torch.empty(n_in, n_out, dtype=torch.float32)
    extra = np.empty((n_chunks - 1, n_in, n_out), dtype=np.float32)
    touched = np.empty((n_chunks, n_in), dtype=np.uint8)
    t_in_grad = grad_t_in.numpy() if need_t_in else np.empty((0, 0), np.float32)
    _launch(_k.grads, n_chunks, saved.order, saved.tsort, saved.nspk, t_out, g, wb_t,
            _kappa(spec, int(T)), bool(spec.inclusive), int(T), need_t_in, grad_w_t.numpy(), extra,
            touched, t_in_grad)
    _launch(_k.sum_parts, n_chunks, grad_w_t.numpy(), extra, touched)
    # (N_out, N_in) with the strides of a transposed-stored weight: autograd then hands it
    # to such a parameter as .grad without a copy
    return grad_w_t.t(), grad_t_in


def _float_array(x: torch.Tensor) -> np.ndarray:
    arr = _numpy(x)
    if arr.dtype not in (np.float32, np.float64):
        arr = arr.astype(np.float64)
    return np.ascontiguousarray(arr)


def layer_grads(
    saved: SavedInputs,
    t_out: torch.Tensor,
    g: torch.Tensor,
    w_back: torch.Tensor | None,
    spec: KernelSpec,
    T: int,
    need_t_in: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """``grads_numba`` from a ``layer_forward``'s saved inputs; ``w_back`` None means the
    kept latent weight. Without ``need_t_in``, dL/dt_in is skipped (None)."""
    wb_t = saved.w_t if w_back is None else _rows_of_transpose(w_back)
    t_np = _times_view(t_out)
    return _grads_from_sorted(saved, t_np, _float_array(g), wb_t, spec, T, need_t_in)


def grads_numba(
    t_in: torch.Tensor,
    t_out: torch.Tensor,
    g: torch.Tensor,
    w_back: torch.Tensor,
    spec: KernelSpec,
    T: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same as ``grads_reference``, looping only over spiking inputs (sorted by time)."""
    batch, n_in = t_in.shape
    t_np = _times_view(t_in)
    to_np = _times_view(t_out)
    _check_range(t_np, T)
    _check_range(to_np, T)
    order, tsort, nspk = _sorted_inputs(batch, n_in)
    if batch and n_in:
        _launch(_k.sort_batch, _threads_for(batch), t_np, int(T), order, tsort, nspk)
    saved = SavedInputs(order, tsort, nspk, None)
    grad_w, grad_t_in = _grads_from_sorted(
        saved, to_np, _float_array(g), _rows_of_transpose(w_back), spec, T
    )
    return grad_w.contiguous(), grad_t_in


FALLBACK_CODES = {"max_potential": 0, "lowest_index": 1, "none": 2}


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
    for weight, theta in zip(weights, thresholds, strict=True):
        w_list.append(_sign_rows(_rows_of_transpose(weight), batch))
        th_list.append(_k.int_thresholds(_theta_array(theta, weight.shape[0])))
    pred = np.empty(batch, np.int64)
    steps = np.empty(batch, np.int64)
    if batch:
        _launch(_k.predict_early_exit, _threads_for(batch), t_np, w_list, th_list, int(T),
                int(delay), FALLBACK_CODES[fallback], pred, steps)
        if pred.min() == -2:
            raise _range_error(t_np, T)
    return torch.from_numpy(pred), torch.from_numpy(steps)
