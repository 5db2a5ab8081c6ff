"""Public functional API of the single-spike IF layer, run by one backend.

Backends (``bstdg.snn.backends``) give identical spike times and matching gradients:
``reference`` (time-stepped, readable), ``torch`` (vectorised; the GPU path), ``numba``
(event-driven fused CPU kernel) and ``clock`` (the dense clock-driven baseline). ``auto``
picks numba for CPU tensors when numba is importable and torch otherwise (always torch on
CUDA).
"""

from __future__ import annotations

from typing import Any

import torch

from bstdg.snn.backends import BACKENDS, Backend, get_backend, resolve_backend
from bstdg.snn.backends.base import check_layer_inputs, check_shapes
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spec import LayerSpec
from bstdg.snn.spikes import SpikeTimes, check_finite, check_times, threshold_vector

__all__ = [
    "BACKENDS", "check_layer_inputs", "first_spike_times", "get_backend", "layer_forward",
    "layer_grads", "resolve_backend", "timing_grads",
]


def first_spike_times(
    t_in: torch.Tensor,
    weight: torch.Tensor,
    threshold: torch.Tensor | float,
    T: int,
    delay: int = 1,
    backend: str = "auto",
    window_trim: int = 0,
) -> SpikeTimes:
    """First spike times of a non-leaky IF layer with instantaneous synapses.

    V_j(t) = sum_i w_ji [t_i <= t];  t_j = min{t + d : V_j(t) > theta_j}, simulated for
    t + d <= T - 1 - window_trim; neurons that do not cross get t_j = T. ``t_in``: (B, N_in)
    integers in [0, T] (T = no spike); ``weight``: (N_out, N_in) forward weights (real or
    +-1); ``threshold``: scalar, (1,) or (N_out,). Returns times (int64), v_fire and v_end
    (the potential at the last simulated step, T - 1 - window_trim). ``window_trim`` = 2
    with delay 0 is SSTDP's simulation of steps 0..T-3. T, delay and window_trim are
    validated as a :class:`~bstdg.snn.spec.LayerSpec`. Non-integer, NaN or infinite spike
    times and non-finite weights or thresholds are refused on every backend.
    """
    w = weight.detach()
    binary = bool((w.abs() == 1).all())  # +-1 weights: sign(w) = w, the exact integer path
    spec = LayerSpec(T, delay, binary, window_trim=window_trim)
    check_shapes(t_in, weight)
    check_times(t_in, spec.T)
    check_finite(weight, "weight")
    theta = threshold_vector(threshold, weight.shape[0], weight)
    check_finite(theta, "threshold")
    impl = get_backend(backend, t_in.device)
    out, _ = impl.forward(t_in, w, theta, spec, False)
    return SpikeTimes(out.times.long(), out.v_fire, out.v_end)


def timing_grads(
    t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor, w_back: torch.Tensor,
    kernel: KernelSpec, T: int, backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(dL/dW, dL/dt_in) of the spike-timing-dependent gradient with the pair rule ``kernel``
    for given dL/dt_out = g over a window of T steps."""
    spec = LayerSpec(T)
    return get_backend(backend, t_in.device).grads(None, t_in, t_out, g, w_back, kernel, spec)


def layer_forward(
    impl: Backend,
    t_in: torch.Tensor,
    weight: torch.Tensor,
    threshold: torch.Tensor,
    spec: LayerSpec,
    keep: bool,
) -> tuple[SpikeTimes, Any]:
    """Forward of a layer of ``spec`` from its latent weight (sign(W) when ``spec.binary``)
    on backend ``impl``, for the autograd Function: float32 times, and with ``keep`` the
    backend's state for :func:`layer_grads`. The caller checks finite weights and thresholds
    (``check_layer_inputs``); the spike times are checked here unless the backend's kernel
    validates them (not with ``window_trim``, which clamps them first)."""
    check_shapes(t_in, weight)
    if spec.window_trim or not impl.checks_times:
        check_times(t_in, spec.T)
    theta = threshold_vector(threshold, weight.shape[0], weight)
    return impl.forward(t_in, weight, theta, spec, keep)


def layer_grads(
    impl: Backend,
    saved: Any,
    t_in: torch.Tensor,
    t_out: torch.Tensor,
    g: torch.Tensor,
    weight: torch.Tensor,
    spec: LayerSpec,
    need_t_in: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(dL/dW, dL/dt_in) of a layer run by :func:`layer_forward` (``saved`` is its state),
    by the rule ``spec.rule``. Without ``need_t_in`` a backend may skip dL/dt_in and return
    None for it.

    With ``rule.backprop_lookahead`` = eta > 0, dL/dt_in goes through the weights after a
    plain SGD step, W - eta dL/dW (a second pass: dL/dW first, then dL/dt_in)."""
    rule = spec.rule
    kernel = rule.kernel_spec(spec.T)
    latent = not spec.binary or rule.backprop_weights == "latent"
    w_back = None if latent else rule.backprop_matrix(weight, spec.binary)
    eta = rule.backprop_lookahead
    if not (eta and need_t_in):
        return impl.grads(saved, t_in, t_out, g, w_back, kernel, spec, need_t_in)
    grad_w, _ = impl.grads(saved, t_in, t_out, g, w_back, kernel, spec, False)
    moved = torch.add(weight, grad_w.to(weight.dtype), alpha=-eta)
    w_moved = rule.backprop_matrix(moved, spec.binary)
    return grad_w, impl.grads(saved, t_in, t_out, g, w_moved, kernel, spec, True)[1]
