"""Clock-driven dense backend: the layer simulated the way the reference papers' code does
it (S4NN / BS4NN), kept as the benchmark baseline (``bstdg-bench``'s ``clock_driven``).

For every time step t = 0..T-1 the membrane potential of every neuron is updated from the
input spikes at t with dense (B, N) ops, all T steps, no early exit; the dense input spike
raster (T, B, N_in) is stored for the backward pass, which evaluates the pair rule
(``KernelSpec.pair_weight``) one step at a time. Memory grows with T, by design.
"""

from __future__ import annotations

from typing import Any

import torch

from bstdg.snn.backends.base import TensorBackend, float_times
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spec import LayerSpec
from bstdg.snn.spikes import SpikeTimes, binarize, threshold_vector


def dense_raster(t_in: torch.Tensor, T: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """S[t, b, i] = [t_i == t] for t = 0..T-1 (inputs at T never spike): (T, B, N)."""
    steps = torch.arange(T, device=t_in.device)[:, None, None]
    return (t_in.long()[None] == steps).to(dtype)


def clock_forward(
    t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor | float, T: int,
    delay: int = 1, dtype: torch.dtype = torch.float32,
) -> tuple[SpikeTimes, torch.Tensor]:
    """Clock-driven single-spike IF layer; returns (SpikeTimes, dense input raster).

    Same semantics as ``bstdg.snn.backends.reference.forward_reference``:
    V_j(k) = sum_i w_ji [t_i <= k], t_j = min{k + d : V_j(k) > theta_j, k + d <= T - 1}, else T.
    Every step k = 0..T-1 does a dense (B, N_in) x (N_in, N_out) update and a threshold test
    of every neuron (fired or not); nothing exits early.
    """
    batch, n_out = t_in.shape[0], w_hat.shape[0]
    device = t_in.device
    w_t = w_hat.detach().to(dtype).t().contiguous()
    theta_v = threshold_vector(theta, n_out, w_hat).to(device=device, dtype=dtype)
    raster = dense_raster(t_in, T, dtype)
    potential = torch.zeros(batch, n_out, dtype=dtype, device=device)
    times = torch.full((batch, n_out), T, dtype=torch.long, device=device)
    v_fire = torch.zeros(batch, n_out, dtype=dtype, device=device)
    fired = torch.zeros(batch, n_out, dtype=torch.bool, device=device)
    new = torch.empty_like(fired)
    for step in range(T):
        potential.addmm_(raster[step], w_t)
        if step + delay <= T - 1:
            torch.gt(potential, theta_v, out=new)
            new &= ~fired
            times.masked_fill_(new, step + delay)
            torch.where(new, potential, v_fire, out=v_fire)
            fired |= new
    v_fire = torch.where(fired, v_fire, potential)
    return SpikeTimes(times, v_fire.float(), potential.float()), raster


def clock_grads(
    raster: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor, w_back: torch.Tensor,
    kernel: KernelSpec, T: int, need_t_in: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(dL/dW, dL/dt_in) of the spike-timing gradient, one dense step at a time.

    For every step t, with (w, m) = ``kernel.pair_weight(t_out - t)``: dW -= (w * g)^T S_t and
    dL/dt_in += S_t * ((m * g) @ w_back) -- the rule of ``grads_reference`` evaluated on the
    stored dense raster S (T, B, N_in) instead of on the spike times. dL/dt_in is skipped
    (None) when not ``need_t_in`` (the input layer).
    """
    _, batch, n_in = raster.shape
    dtype = raster.dtype
    t_out = t_out.to(dtype)
    g = g.to(dtype)
    w_back = w_back.to(dtype)
    grad_w = torch.zeros(t_out.shape[1], n_in, dtype=dtype, device=raster.device)
    grad_t_in = torch.zeros(batch, n_in, dtype=dtype, device=raster.device) if need_t_in else None
    for step in range(T):
        kappa, causal = kernel.pair_weight(t_out - step)
        s = raster[step]
        grad_w.addmm_((kappa * g).t(), s, alpha=-1.0)
        if grad_t_in is not None:
            grad_t_in.addcmul_(s, (causal.to(dtype) * g) @ w_back)
    return grad_w.float(), None if grad_t_in is None else grad_t_in.float()


def _simulate(t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor, T: int,
              delay: int) -> SpikeTimes:
    return clock_forward(t_in, w_hat, theta, T, delay)[0]


class ClockBackend(TensorBackend):
    """Keeps the forward's dense raster (and the latent weight) for the backward."""

    def __init__(self) -> None:
        super().__init__("clock", _simulate, clock_grads)

    def forward(
        self, t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, spec: LayerSpec,
        keep: bool,
    ) -> tuple[SpikeTimes, Any]:
        if spec.window_trim:  # the shortened raster is not the one the backward needs
            out, _ = super().forward(t_in, weight, theta, spec, False)
            return out, ((None, weight) if keep else None)
        w_hat = binarize(weight) if spec.binary else weight
        out, raster = clock_forward(t_in, w_hat, theta, spec.T, spec.delay)
        return float_times(out), ((raster, weight) if keep else None)

    def grads(
        self, saved: Any, t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor,
        w_back: torch.Tensor | None, kernel: KernelSpec, spec: LayerSpec,
        need_t_in: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        raster, weight = saved if saved is not None else (None, None)
        if raster is None:
            raster = dense_raster(t_in, spec.T)
        return clock_grads(raster, t_out, g, weight if w_back is None else w_back, kernel,
                           spec.T, need_t_in)


BACKEND = ClockBackend()
