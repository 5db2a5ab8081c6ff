"""Plain, obviously-correct reference implementation of the layer and its gradients.

Readable first, slow second: the forward walks the time steps one by one, the backward
builds the full (B, N_out, N_in) table of pre/post timing differences. Every other backend
is tested against these two functions.
"""

from __future__ import annotations

import torch

from bstdg.snn.backends.base import TensorBackend
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import SpikeTimes


def forward_reference(
    t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor, T: int, delay: int
) -> SpikeTimes:
    """Discrete-time non-leaky IF, instantaneous synapses, at most one spike.

    V_j(k) = sum_i w_ji [t_i <= k];  t_j = min{k + d : V_j(k) > theta_j, k + d <= T - 1},
    else t_j = T. Steps k = 0 .. T-1 are simulated.
    """
    t_in = t_in.long()
    batch, n_out = t_in.shape[0], w_hat.shape[0]
    potential = torch.zeros(batch, n_out, dtype=torch.float64, device=t_in.device)
    times = torch.full((batch, n_out), T, dtype=torch.long, device=t_in.device)
    v_fire = torch.zeros_like(potential)
    fired = torch.zeros(batch, n_out, dtype=torch.bool, device=t_in.device)
    w64 = w_hat.double()
    for step in range(T):
        potential = potential + (t_in == step).double() @ w64.T
        if step + delay <= T - 1:
            new = ~fired & (potential > theta.double())
            times[new] = step + delay
            v_fire[new] = potential[new]
            fired |= new
    v_fire[~fired] = potential[~fired]
    return SpikeTimes(times, v_fire.float(), potential.float())


def grads_reference(
    t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor, w_back: torch.Tensor,
    kernel: KernelSpec, T: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Spike-timing-dependent gradients from the explicit pair table.

    With delta = t_j - t_i over the pairs of a spiking input (t_i < T) and every output, and
    (w_ji, m_ji) = ``kernel.pair_weight(delta)`` (kappa on causal pairs plus any anti-causal
    term; the causal mask):
        dL/dw_ji = sum_b -w_ji g_j
        dL/dt_i  = sum_j g_j w_back_ji m_ji
    ``g`` is dL/dt_out after any normalisation.
    """
    ti = t_in.double()[:, None, :]
    tj = t_out.double()[:, :, None]
    spiking = ti < T
    pair, causal = kernel.pair_weight(tj - ti)
    kappa = torch.where(spiking, pair, 0.0)
    causal = spiking & causal
    g64 = g.double()[:, :, None]
    grad_w = -(kappa * g64).sum(0)
    grad_t_in = (causal.double() * g64 * w_back.double()[None]).sum(1)
    return grad_w.float(), grad_t_in.float()


BACKEND = TensorBackend("reference", forward_reference, grads_reference)
