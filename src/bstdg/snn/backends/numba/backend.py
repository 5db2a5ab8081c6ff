"""Event-driven fused CPU backend (numba), same interface and results as the reference.

Forward, per sample (parallel over the batch): sort the spiking inputs by time, add the
weight rows of every input of a time bin into the potential vector, and after each
non-empty bin test the unfired neurons for V > theta. +-1 weights are accumulated exactly
from an int8 copy (int16 potentials below 2**14 inputs, int32 above); real weights in
float64 with the reference's rounding order (bin sum first), so spike times are identical
to ``forward_reference``.

Backward: one fused pass over the spiking inputs of each sample, parallel over batch
chunks (one per thread, each with its own float32 dW accumulator; the first is the
gradient itself, the others are added to it where their inputs spiked). Gradients match
``grads_reference`` to float rounding; the dW summation order, and so its last float32
bits, can depend on the thread count.

The backend (:class:`NumbaBackend`, used by the autograd Function) reads the latent
weights in their transposed storage, takes and returns float spike times without
conversions, and hands the per-sample sorted inputs of the forward to the backward.
``forward_numba`` / ``grads_numba`` are the same kernels as plain functions of spike times
and forward weights, like ``forward_reference`` / ``grads_reference``. Whole nets run as one
autograd Function (``net``) or, for class decisions, with an early exit (``early_exit``).

numba's threading layer is chosen in the order OpenMP, TBB, workqueue unless
NUMBA_THREADING_LAYER says otherwise (set by the package, see its docstring). Measured here
(``bstdg-bench --quick``), workqueue hands every launch to a worker thread even on one
thread: training 14-19k samples/s against 25-28k with OpenMP, and 2-thread inference
58-64k against 114-154k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from numba.typed import List

from bstdg.snn.backends.base import (
    BackendBase,
    check_layer_inputs,
    check_shapes,
    check_weight_shape,
    trim_window,
    untrim,
)
from bstdg.snn.backends.numba.early_exit import EARLY_EXIT, FALLBACK_CODES, PRED_OUT_OF_RANGE, Early
from bstdg.snn.backends.numba.launch import (
    as_numpy,
    check_range,
    check_times_array,
    empty_csr,
    float_array,
    launch,
    pair_table,
    rows_of_transpose,
    sign_rows,
    theta_array,
    threads_for,
    times_error,
    times_view,
)
from bstdg.snn.backends.numba.layer_kernels import FORWARD, GRADS, SORT_BATCH, SUM_PARTS, GradOut
from bstdg.snn.backends.numba.net import check_keep, fusable, run_net
from bstdg.snn.backends.numba.primitives import (
    TIMES_OUT_OF_RANGE,
    LayerOut,
    SpikeCSR,
    int_thresholds,
    narrow_potentials,
)
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spec import LayerSpec
from bstdg.snn.spikes import SpikeTimes, check_batch_shape, check_times


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
    """The forward kernel on the latent ``weight`` over the window of T steps: (SpikeTimes
    with times in ``times_dtype``, the sorted inputs, the latent w^T)."""
    batch = t_in.shape[0]
    n_out, n_in = weight.shape
    t_np = times_view(t_in)
    if batch == 0 or n_out == 0:
        check_times_array(t_np, T)
        out = SpikeTimes(torch.full((batch, n_out), T, dtype=times_dtype),
                         torch.zeros(batch, n_out), torch.zeros(batch, n_out))
        empty = np.zeros((batch, n_in), np.int32)
        return out, SpikeCSR(empty, empty, np.zeros(batch, np.int32)), np.zeros(
            (n_in, n_out), np.float32)
    w_t = rows_of_transpose(weight)
    w_fwd = sign_rows(w_t, batch) if binary else w_t.astype(np.float64)
    out = SpikeTimes(torch.empty(batch, n_out, dtype=times_dtype),
                     torch.empty(batch, n_out, dtype=torch.float32),
                     torch.empty(batch, n_out, dtype=torch.float32))
    csr = empty_csr(batch, n_in)
    launch(FORWARD, threads_for(batch), batch, t_np, w_fwd, theta_array(theta, n_out),
           int(T), int(delay), LayerOut(*(x.numpy() for x in out)), csr)
    if csr.nspk.min() == TIMES_OUT_OF_RANGE:
        raise times_error(t_np, T)
    return out, csr, w_t


def _grads(
    csr: SpikeCSR, t_out: torch.Tensor, g: torch.Tensor, wb_t: np.ndarray, kernel: KernelSpec,
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
    n_chunks = min(threads_for(batch), batch)
    grad_w_t = torch.empty(n_in, n_out, dtype=torch.float32)
    out = GradOut(grad_w_t.numpy(), np.empty((n_chunks - 1, n_in, n_out), dtype=np.float32),
                  np.empty((n_chunks, n_in), dtype=np.uint8),
                  grad_t_in.numpy() if need_t_in else np.empty((0, 0), np.float32))
    launch(GRADS, n_chunks, batch, csr, times_view(t_out), float_array(g), wb_t,
           pair_table(kernel, int(T)), need_t_in, out)
    launch(SUM_PARTS, n_chunks, n_in, out)
    return grad_w_t.t(), grad_t_in


def _sorted_inputs(t_in: torch.Tensor, T: int) -> SpikeCSR:
    """The CSR of ``t_in`` without a forward (the sort validates the times)."""
    batch, n_in = t_in.shape
    t_np = times_view(t_in)
    csr = empty_csr(batch, n_in)
    if batch and n_in:
        launch(SORT_BATCH, threads_for(batch), batch, t_np, int(T), csr)
        if csr.nspk.min() == TIMES_OUT_OF_RANGE:
            raise times_error(t_np, T)
    return csr


class NumbaBackend(BackendBase):
    """The event-driven CPU backend (see the module docstring)."""

    name = "numba"
    checks_times = True

    def forward(
        self, t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, spec: LayerSpec,
        keep: bool,
    ) -> tuple[SpikeTimes, SavedInputs | None]:
        """The kernels read weight^T rows (one input's weights to every output); a weight
        stored transposed (strides (1, N_out)) is used without a copy."""
        if spec.window_trim:
            t_sim, T_sim = trim_window(t_in, spec)
            out, _, w_t = _forward(t_sim, weight, theta, T_sim, spec.delay, spec.binary,
                                   torch.float32)
            return untrim(out, spec), (SavedInputs(None, w_t) if keep else None)
        out, csr, w_t = _forward(t_in, weight, theta, spec.T, spec.delay, spec.binary,
                                 torch.float32)
        return out, (SavedInputs(csr, w_t) if keep else None)

    def grads(
        self, saved: SavedInputs | None, t_in: torch.Tensor, t_out: torch.Tensor,
        g: torch.Tensor, w_back: torch.Tensor | None, kernel: KernelSpec, spec: LayerSpec,
        need_t_in: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        csr = saved.csr if saved is not None else None
        if csr is None:  # no forward, or one on a shortened window: sort t_in here
            csr = _sorted_inputs(t_in, spec.T)
            check_range(times_view(t_out), spec.T)
        wb_t = saved.w_t if w_back is None else rows_of_transpose(w_back)
        return _grads(csr, t_out, g, wb_t, kernel, spec.T, need_t_in)

    def net_forward(
        self, t_in: torch.Tensor, weights: Sequence[torch.Tensor],
        thresholds: Sequence[torch.Tensor], specs: Sequence[LayerSpec],
        keep: Sequence[torch.Tensor | None],
    ) -> list[torch.Tensor] | None:
        """The whole net in one kernel launch per pass (``net``) when its specs allow it
        and the batch runs on one thread."""
        check_batch_shape(t_in)
        if threads_for(t_in.shape[0]) > 1 or not fusable(weights, specs):
            return None
        check_shapes(t_in, weights[0])
        for k in range(1, len(weights)):  # the kernel reads them unchecked
            check_weight_shape(weights[k], weights[k - 1].shape[0])
        check_keep(keep, [w.shape[0] for w in weights[:-1]], t_in.shape[0])
        if t_in.dtype == torch.float64:  # 7.99999999 would round to 8 in float32
            check_times(t_in, specs[0].T)
        return list(run_net(t_in.float(), weights, thresholds, specs[0], keep))

    def predict_early_exit(
        self, t_in: torch.Tensor, weights: Sequence[torch.Tensor],
        thresholds: Sequence[torch.Tensor], specs: Sequence[LayerSpec], fallback: str,
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """Event-driven across all layers for binarized nets on the plain window whose
        layers share one spec; None (the full forward) otherwise."""
        first = specs[0]
        if not (first.binary and first.window_trim == 0 and all(s == first for s in specs)):
            return None
        for k, (weight, threshold) in enumerate(zip(weights, thresholds, strict=True)):
            # integer times are range-checked by the kernel
            check_layer_inputs(t_in if k == 0 else None, weight, threshold, first, self)
        return predict_early_exit_numba(t_in, weights, thresholds, first, fallback)


BACKEND = NumbaBackend()


def forward_numba(
    t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor, T: int, delay: int
) -> SpikeTimes:
    """Same semantics as ``forward_reference`` (event-driven; cost independent of T); +-1
    weights take the exact integer path."""
    binary = bool(np.all(np.abs(as_numpy(w_hat)) == 1))
    return _forward(t_in, w_hat, theta, T, delay, binary, torch.int64)[0]


def grads_numba(
    t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor, w_back: torch.Tensor,
    kernel: KernelSpec, T: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same as ``grads_reference``, looping only over spiking inputs (sorted by time)."""
    grad_w, grad_t_in = BACKEND.grads(None, t_in, t_out, g, w_back, kernel, LayerSpec(T))
    return grad_w.contiguous(), grad_t_in


def predict_early_exit_numba(
    t_in: torch.Tensor, weights: Sequence[torch.Tensor], thresholds: Sequence[torch.Tensor],
    spec: LayerSpec, fallback: str,
) -> tuple[torch.Tensor, torch.Tensor]:
    """(decisions, decision steps) of a binarized network (latent ``weights``, forward
    sign(W), every layer of ``spec``) simulated across all layers in time order and stopped
    at the first output spike; the same decisions as the full forward followed by
    ``readout.decide``."""
    batch = t_in.shape[0]
    t_np = times_view(t_in)
    w_list, th_list = List(), List()
    narrow = all(narrow_potentials(weight.shape[1]) for weight in weights)
    for weight, theta in zip(weights, thresholds, strict=True):
        w_list.append(sign_rows(rows_of_transpose(weight), batch))
        thr = np.empty(weight.shape[0], np.int16 if narrow else np.int32)
        th_list.append(int_thresholds(theta_array(theta, weight.shape[0]), thr))
    res = Early(np.empty(batch, np.int64), np.empty(batch, np.int64))
    if batch:
        launch(EARLY_EXIT, threads_for(batch), batch, t_np, w_list, th_list, spec.T,
               spec.delay, FALLBACK_CODES[fallback], res)
        if res.pred.min() == PRED_OUT_OF_RANGE:
            raise times_error(t_np, spec.T)
    return torch.from_numpy(res.pred), torch.from_numpy(res.step)
