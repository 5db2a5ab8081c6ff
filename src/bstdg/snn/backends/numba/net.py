"""The whole net as one autograd Function on the numba backend (the fused training path).

``SpikingNet.forward`` runs every layer through :class:`NumbaNetFunction` when
:func:`fusable` says the layers' specs allow it and the batch runs on one thread (see
``net_kernels``): one forward launch for all layers and, in backward, one launch for
every layer's dL/dW, dL/dtheta and the error passed down. The spike times are the layer
path's bit for bit and the gradients match it to float rounding
(``tests/snn/test_fused_net.py``).

Fusable: the numba backend, float32 parameters, the plain window (``window_trim`` 0), and a
rule whose every step the kernel has (const / exp kernels, per-sample normalisation, the
error through the latent weights or, for real weights, the weights themselves). Other nets
(``linear_relpsp``, ``silent_input_grad``, ``backprop_lookahead``, binarized backprop
weights) take the layer path, which is the same computation one layer at a time.

One numerical difference is by design: the per-sample error norm ||G|| is summed in float64,
where torch's float32 norm (the layer path) loses precision once the squares are denormal
(||G|| below about 1e-19) and reaches 0 near 1e-23. With the default eps this changes nothing
visible (G / (||G|| + eps) is about G / eps on both paths); with ``eps=0`` such a sample keeps
its raw error on the layer path (a zero norm divides by 1) and becomes a unit vector here.

The backward is not differentiable again: under ``create_graph=True`` it gives the same
first-order gradients, as constants.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
import torch

from bstdg.snn.backends.numba.launch import (
    as_numpy,
    empty_csr,
    pair_table,
    rows_of_transpose,
    times_error,
)
from bstdg.snn.backends.numba.net_kernels import (
    NetGrads,
    net_forward,
    net_grads,
    sign_rows_checked,
)
from bstdg.snn.backends.numba.primitives import (
    TIMES_OUT_OF_RANGE,
    LayerOut,
    PairTable,
    SpikeCSR,
)
from bstdg.snn.spec import LayerSpec
from bstdg.snn.spikes import check_finite, check_threshold_size

_NO_ROWS = np.empty((0, 0), np.float32)
_NO_MASK = np.empty((0, 0), np.bool_)


def fusable(weights: Sequence[torch.Tensor], specs: Sequence[LayerSpec]) -> bool:
    """Whether :class:`NumbaNetFunction` can run the layers of ``weights`` and ``specs``: see
    the module docstring. The kernel applies one spec (window, delay, weights, rule) to
    every layer, so a net whose layers differ takes the layer path."""
    first = specs[0]
    rule = first.rule
    if rule.kernel == "linear_relpsp" or rule.silent_input_grad or rule.backprop_lookahead:
        return False
    if first.binary and rule.backprop_weights != "latent":
        return False
    return first.window_trim == 0 and all(spec == first for spec in specs) and all(
        weight.dtype == torch.float32 for weight in weights
    )


def check_keep(keep: Sequence[torch.Tensor | None], widths: list[int], batch: int) -> None:
    """One mask per hidden layer, None or bool (batch, width): the kernel reads it unchecked."""
    if len(keep) != len(widths):
        raise ValueError(f"keep must hold one mask per hidden layer ({len(widths)}), "
                         f"got {len(keep)}")
    for k, (mask, width) in enumerate(zip(keep, widths, strict=True)):
        if mask is not None and (mask.dtype != torch.bool or tuple(mask.shape) != (batch, width)):
            raise ValueError(f"keep[{k}] must be None or a bool tensor of shape "
                             f"({batch}, {width}), got {mask.dtype} {tuple(mask.shape)}")


class NetPlan(NamedTuple):
    """What the Function needs besides tensors: the window, the rule's steps, and the
    spikes of each hidden layer that reach the next (``keep``; (0, 0): all)."""

    T: int
    delay: int
    binary: bool
    pairs: PairTable
    normalize: bool
    eps: float
    theta_scale: float
    keep: tuple[np.ndarray, ...]


def _plan(spec: LayerSpec, keep: Sequence[torch.Tensor | None]) -> NetPlan:
    rule = spec.rule
    masks = [_NO_MASK if k is None else np.ascontiguousarray(k.numpy()) for k in keep]
    return NetPlan(
        spec.T, spec.delay, spec.binary, pair_table(rule.kernel_spec(spec.T), spec.T),
        rule.normalize, float(rule.eps), float(rule.threshold_grad_scale),
        tuple(masks + [_NO_MASK]),
    )


def _forward_rows(weight: torch.Tensor, binary: bool) -> np.ndarray:
    """The forward rows w_hat^T the kernel integrates, refusing a non-finite weight (checked
    on the way for +-1 nets)."""
    w_t = rows_of_transpose(weight)
    if not binary:
        check_finite(weight, "weight")
        return w_t.astype(np.float64)
    w8 = np.empty(w_t.shape, np.int8)
    if not sign_rows_checked(w_t, w8):
        check_finite(weight, "weight")  # raises, naming the entries
    return w8


def _thetas(threshold: torch.Tensor, n_out: int) -> np.ndarray:
    """The (n_out,) float64 thresholds, rounded through float32 as ``threshold_vector``
    rounds them for the layer path."""
    check_threshold_size(tuple(threshold.shape), n_out)
    theta = np.empty(n_out, np.float64)
    theta[:] = np.asarray(as_numpy(threshold), np.float32).reshape(-1)
    if not np.isfinite(theta).all():
        check_finite(threshold, "threshold")
    return theta


class NumbaNetFunction(torch.autograd.Function):
    """(t_1, ..., t_L, v_fire_L, v_end_L) = net(t_in; W_1, theta_1, ..., W_L, theta_L);
    the backward gives every layer's dL/dW and dL/dtheta (and dL/dt_in when asked) in one
    kernel launch. ``params`` alternate weight and threshold, layer by layer."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, plan: NetPlan, t_in: torch.Tensor, *params: torch.Tensor
    ) -> tuple[torch.Tensor, ...]:
        weights, thresholds = params[0::2], params[1::2]
        batch = t_in.shape[0]
        rows = [_forward_rows(w.detach(), plan.binary) for w in weights]
        theta = tuple(_thetas(th, w.shape[0]) for w, th in zip(weights, thresholds, strict=True))
        outs = [LayerOut(*(np.empty((batch, w.shape[0]), np.float32) for _ in range(3)))
                for w in weights]
        csrs = tuple(empty_csr(batch, w.shape[1]) for w in weights)
        t_np = np.ascontiguousarray(t_in.detach().numpy(), dtype=np.float32)
        if batch:
            net_forward(t_np, tuple(rows), theta, plan.T, plan.delay, plan.keep,
                        tuple(outs), csrs)
            if csrs[0].nspk.min() == TIMES_OUT_OF_RANGE:
                raise times_error(t_np, plan.T)
        times = [torch.from_numpy(out.times) for out in outs]
        v_fire, v_end = torch.from_numpy(outs[-1].v_fire), torch.from_numpy(outs[-1].v_end)
        ctx.set_materialize_grads(False)
        ctx.mark_non_differentiable(v_fire, v_end)
        ctx.plan = plan
        # autograd refuses a backward after an in-place edit of any of these
        ctx.save_for_backward(*times, *weights)
        ctx.csrs = csrs
        ctx.threshold_shapes = [th.shape for th in thresholds]
        return (*times, v_fire, v_end)

    @staticmethod
    def backward(ctx: Any, *grads: torch.Tensor | None) -> tuple[Any, ...]:  # type: ignore[override]
        plan: NetPlan = ctx.plan
        csrs = ctx.csrs
        n_layers = len(csrs)
        saved = ctx.saved_tensors
        times = [as_numpy(t) for t in saved[:n_layers]]
        w_rows = [rows_of_transpose(w) for w in saved[n_layers:]]  # the latent w^T
        batch = times[0].shape[0]
        top = tuple(_NO_ROWS if g is None else np.ascontiguousarray(as_numpy(g), np.float32)
                    for g in grads[:n_layers])
        need_t_in = ctx.needs_input_grad[1]
        grad_t_in = np.empty((batch, csrs[0].order.shape[1]), np.float32) if need_t_in \
            else _NO_ROWS
        res = tuple(_net_grads(csr, t.shape[1]) for csr, t in zip(csrs, times, strict=True))
        if batch:
            net_grads(csrs, tuple(times), top, tuple(w_rows), plan.pairs, plan.normalize,
                      plan.eps, grad_t_in, res)
        out: list[torch.Tensor | None] = []
        for k, r in enumerate(res):
            out.append(torch.from_numpy(r.grad_w_t).t())
            theta = r.g_sum * plan.theta_scale
            shape = ctx.threshold_shapes[k]
            out.append(torch.from_numpy(
                (theta.sum(keepdims=True) if shape.numel() == 1 else theta).astype(np.float32)
            ).reshape(shape))
        wanted = ctx.needs_input_grad[2:]
        return (None, torch.from_numpy(grad_t_in) if need_t_in else None,
                *(g if need else None for g, need in zip(out, wanted, strict=True)))


def _net_grads(csr: SpikeCSR, n_out: int) -> NetGrads:
    """Unfilled outputs of one layer's backward (an empty batch launches nothing: its
    gradients are the zeros set here)."""
    batch, n_in = csr.order.shape
    return NetGrads(np.zeros((n_in, n_out), np.float32) if not batch else
                    np.empty((n_in, n_out), np.float32), np.empty(n_in, np.uint8),
                    np.empty((batch, n_out), np.float32), np.zeros(n_out, np.float64))


def run_net(t_in: torch.Tensor, weights: Sequence[torch.Tensor],
            thresholds: Sequence[torch.Tensor], spec: LayerSpec,
            keep: Sequence[torch.Tensor | None]) -> tuple[torch.Tensor, ...]:
    """The Function on ``t_in`` (float32) and the layers' ``weights`` and ``thresholds``, every
    layer of ``spec``, the spikes of hidden layer l reaching layer l + 1 where ``keep[l]``
    (None: all)."""
    params = [p for pair in zip(weights, thresholds, strict=True) for p in pair]
    return NumbaNetFunction.apply(_plan(spec, keep), t_in, *params)
