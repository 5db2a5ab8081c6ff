"""Public functional API of the single-spike IF layer, dispatching to one backend.

Backends give identical spike times and matching gradients:
``reference`` (time-stepped, readable), ``torch`` (vectorised; the GPU path),
``numba`` (event-driven fused CPU kernel). ``auto`` / ``fast`` pick numba for CPU tensors
when numba is importable and torch otherwise (always torch on CUDA).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import lru_cache
from importlib.util import find_spec
from typing import Any

import torch

from bstdg.snn.reference import forward_reference, grads_reference
from bstdg.snn.rules import GradientRule, KernelSpec
from bstdg.snn.spikes import SpikeTimes, binarize, check_finite, check_times, threshold_vector
from bstdg.snn.torch_backend import forward_torch, grads_torch

BACKENDS = ("auto", "fast", "reference", "torch", "numba")

ForwardFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int, int], SpikeTimes]
GradsFn = Callable[..., tuple[torch.Tensor, torch.Tensor]]


@lru_cache(maxsize=1)
def _have_numba() -> bool:
    return find_spec("numba") is not None


def resolve_backend(backend: str, device: torch.device) -> str:
    """Map ``auto``/``fast`` to a concrete backend for tensors on ``device``."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")
    if backend in ("auto", "fast"):
        if device.type == "cpu" and _have_numba():
            return "numba"
        return "torch"
    if backend == "numba" and device.type != "cpu":
        raise ValueError("the numba backend runs on CPU tensors only; use backend=torch or auto")
    return backend


def _kernels(backend: str) -> tuple[ForwardFn, GradsFn]:
    if backend == "reference":
        return forward_reference, grads_reference
    if backend == "torch":
        return forward_torch, grads_torch
    from bstdg.snn.numba_backend import forward_numba, grads_numba

    return forward_numba, grads_numba


def _check_layer(t_in: torch.Tensor, weight: torch.Tensor, T: int, delay: int) -> None:
    """Shapes, T and delay of a layer call (not the time range: see ``check_times``)."""
    if T < 2:
        raise ValueError(f"T must be an integer >= 2, got {T}")
    if t_in.dim() != 2:
        raise ValueError(f"spike times must have shape (batch, neurons), got {tuple(t_in.shape)}")
    if delay < 0:
        raise ValueError(f"delay must be >= 0 time steps, got {delay}")
    if weight.dim() != 2 or weight.shape[1] != t_in.shape[1]:
        raise ValueError(
            f"weight must have shape (N_out, {t_in.shape[1]}), got {tuple(weight.shape)}"
        )


def _check_trim(T: int, window_trim: int) -> None:
    if window_trim < 0 or T - window_trim < 2:
        raise ValueError(
            f"window_trim must be an integer in [0, T - 2] = [0, {T - 2}] (steps cut from the "
            f"end of the window), got {window_trim}"
        )


def _trim_window(t_in: torch.Tensor, T: int, window_trim: int) -> tuple[torch.Tensor, int]:
    """Inputs and window length of the shortened simulation: inputs at or after
    T' = T - window_trim are never integrated before the last crossing test, so they
    become "no spike" (T') there."""
    T_sim = T - window_trim
    return t_in.clamp(max=T_sim), T_sim


def _untrim(out: SpikeTimes, T_sim: int, T: int) -> SpikeTimes:
    """Map the shortened window's "no spike" T' back to T."""
    times = torch.where(out.times >= T_sim, torch.full_like(out.times, T), out.times)
    return SpikeTimes(times, out.v_fire, out.v_end)


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
    with delay 0 is SSTDP's simulation of steps 0..T-3. Non-integer, NaN or infinite spike
    times and non-finite weights or thresholds are refused on every backend.
    """
    _check_layer(t_in, weight, T, delay)
    check_times(t_in, T)
    _check_trim(T, window_trim)
    check_finite(weight, "weight")
    theta = threshold_vector(threshold, weight.shape[0], weight)
    check_finite(theta, "threshold")
    forward, _ = _kernels(resolve_backend(backend, t_in.device))
    if window_trim:
        t_sim, T_sim = _trim_window(t_in, T, window_trim)
        return _untrim(forward(t_sim, weight.detach(), theta, T_sim, delay), T_sim, T)
    return forward(t_in, weight.detach(), theta, T, delay)


def timing_grads(
    t_in: torch.Tensor,
    t_out: torch.Tensor,
    g: torch.Tensor,
    w_back: torch.Tensor,
    spec: KernelSpec,
    T: int,
    backend: str = "auto",
) -> tuple[torch.Tensor, torch.Tensor]:
    """(dL/dW, dL/dt_in) of the spike-timing-dependent gradient for given dL/dt_out = g."""
    _, grads = _kernels(resolve_backend(backend, t_in.device))
    return grads(t_in, t_out, g, w_back, spec, T)


def check_layer_inputs(
    t_in: torch.Tensor | None, weight: torch.Tensor, threshold: torch.Tensor, T: int,
    backend: str,
) -> None:
    """What a layer call checks before it runs: the spike times ``t_in`` unless None
    (integer-valued, in [0, T]; integer times on the numba backend are range-checked by its
    kernel instead) and finite weights and thresholds. One reduction per tensor."""
    if t_in is not None and (
        t_in.is_floating_point() or resolve_backend(backend, t_in.device) != "numba"
    ):
        check_times(t_in, T)
    check_finite(weight, "weight")
    check_finite(threshold, "threshold")


def layer_forward(
    t_in: torch.Tensor,
    weight: torch.Tensor,
    threshold: torch.Tensor,
    T: int,
    delay: int,
    binary: bool,
    backend: str,
    keep: bool,
    window_trim: int = 0,
) -> tuple[SpikeTimes, Any]:
    """Forward of a layer from its latent weight (sign(W) when ``binary``), for the
    autograd Function: float32 times, and with ``keep`` an opaque state for
    :func:`layer_grads`. The numba backend reads the weight in its transposed storage
    and keeps the sorted inputs for the backward (not with ``window_trim``, whose
    shortened inputs are not the ones the backward's causal mask needs)."""
    name = resolve_backend(backend, t_in.device)
    if name != "numba":
        w_hat = binarize(weight) if binary else weight
        out = first_spike_times(t_in, w_hat, threshold, T, delay, name, window_trim)
        return SpikeTimes(out.times.to(torch.float32), out.v_fire, out.v_end), None
    from bstdg.snn.numba_backend import layer_forward as numba_forward

    _check_layer(t_in, weight, T, delay)  # the kernel checks the time range itself
    theta = threshold_vector(threshold, weight.shape[0], weight)
    if window_trim:
        _check_trim(T, window_trim)
        check_times(t_in, T)
        t_sim, T_sim = _trim_window(t_in, T, window_trim)
        out, _ = numba_forward(t_sim, weight, theta, T_sim, delay, binary, False)
        return _untrim(out, T_sim, T), None
    return numba_forward(t_in, weight, theta, T, delay, binary, keep)


def layer_grads(
    state: Any,
    t_in: torch.Tensor,
    t_out: torch.Tensor,
    g: torch.Tensor,
    weight: torch.Tensor,
    rule: GradientRule,
    binary: bool,
    T: int,
    backend: str,
    need_t_in: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(dL/dW, dL/dt_in) of a layer run by :func:`layer_forward` (``state`` is its).
    Without ``need_t_in`` a backend may skip dL/dt_in and return None for it.

    With ``rule.backprop_lookahead`` = eta > 0, dL/dt_in goes through the weights after a
    plain SGD step, W - eta dL/dW (a second pass: dL/dW first, then dL/dt_in)."""
    spec = rule.kernel_spec(T)
    eta = rule.backprop_lookahead
    if eta and need_t_in:
        plain = replace(rule, backprop_lookahead=0.0)
        grad_w, _ = layer_grads(state, t_in, t_out, g, weight, plain, binary, T, backend,
                                need_t_in=False)
        moved = torch.add(weight, grad_w.to(weight.dtype), alpha=-eta)
        w_back = rule.backprop_matrix(moved, binary)
        if state is None:
            return grad_w, timing_grads(t_in, t_out, g, w_back, spec, T, backend)[1]
        from bstdg.snn.numba_backend import layer_grads as numba_grads

        return grad_w, numba_grads(state, t_out, g, w_back, spec, T, True)[1]
    if state is None:
        w_back = rule.backprop_matrix(weight, binary)
        return timing_grads(t_in, t_out, g, w_back, spec, T, backend)
    from bstdg.snn.numba_backend import layer_grads as numba_grads

    latent = not binary or rule.backprop_weights == "latent"
    w_back = None if latent else rule.backprop_matrix(weight, binary)
    return numba_grads(state, t_out, g, w_back, spec, T, need_t_in)
