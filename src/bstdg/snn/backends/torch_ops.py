"""Vectorised torch backend: compressed to one matmul + cumsum per batch chunk.

Runs wherever torch runs (the GPU path). The time axis is materialised per batch chunk
only, so peak memory is bounded by ``chunk_elements`` whatever T and B are; nothing
T-long is kept for the backward pass.
"""

from __future__ import annotations

import torch

from bstdg.snn.backends.base import TensorBackend
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import SpikeTimes

CHUNK_ELEMENTS = 1 << 24


def _chunk_bounds(batch: int, per_sample: int) -> list[tuple[int, int]]:
    """Batch slices whose time-expanded tensors hold at most CHUNK_ELEMENTS values."""
    step = max(1, CHUNK_ELEMENTS // max(per_sample, 1))
    return [(lo, min(batch, lo + step)) for lo in range(0, batch, step)]


def _one_hot_time(t_in: torch.Tensor, T: int, dtype: torch.dtype) -> torch.Tensor:
    """S[b, t, i] = [t_i == t] for t < T (inputs at T never spike)."""
    hot = torch.nn.functional.one_hot(t_in.long().clamp(0, T), T + 1)[..., :T]
    return hot.transpose(1, 2).to(dtype)


def forward_torch(
    t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor, T: int, delay: int
) -> SpikeTimes:
    """Same semantics as ``forward_reference``: V = cumsum_t(S @ W^T), first strict crossing."""
    batch, n_in = t_in.shape
    n_out = w_hat.shape[0]
    dtype = torch.float64 if w_hat.dtype == torch.float64 else torch.float32
    w = w_hat.to(dtype)
    times = torch.empty(batch, n_out, dtype=torch.long, device=t_in.device)
    v_fire = torch.empty(batch, n_out, dtype=torch.float32, device=t_in.device)
    v_end = torch.empty_like(v_fire)
    last_step = T - 1 - delay
    for lo, hi in _chunk_bounds(batch, T * max(n_in, n_out)):
        potential = torch.cumsum(_one_hot_time(t_in[lo:hi], T, dtype) @ w.T, dim=1)
        end = potential[:, -1]
        if last_step >= 0:
            cross = potential[:, : last_step + 1] > theta.to(dtype)
            any_cross = cross.any(dim=1)
            step = cross.to(torch.uint8).argmax(dim=1)
            at_step = potential.gather(1, step[:, None]).squeeze(1)
            times[lo:hi] = torch.where(any_cross, step + delay, T)
            v_fire[lo:hi] = torch.where(any_cross, at_step, end).float()
        else:
            times[lo:hi] = T
            v_fire[lo:hi] = end.float()
        v_end[lo:hi] = end.float()
    return SpikeTimes(times, v_fire, v_end)


def _kernel_table(
    t_out: torch.Tensor, kernel: KernelSpec, T: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """For an input spike at step t onto neuron j: (pair weight[b,t,j], causal[b,t,j])."""
    steps = torch.arange(T, device=t_out.device, dtype=torch.float64)[None, :, None]
    return kernel.pair_weight(t_out.double()[:, None, :] - steps)


def grads_torch(
    t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor, w_back: torch.Tensor,
    kernel: KernelSpec, T: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same as ``grads_reference`` without the (B, N_out, N_in) table.

    dL/dw = -sum_{b,t} (kappa[b,t,:] g_b)^T S[b,t,:]  and  dL/dt_i = C[b, t_i, i] with
    C = (causal * g) @ w_back, contracted over (batch, time) per chunk.
    """
    batch, n_in = t_in.shape
    n_out = t_out.shape[1]
    grad_w = torch.zeros(n_out, n_in, dtype=torch.float32, device=t_in.device)
    grad_t_in = torch.zeros(batch, n_in, dtype=torch.float32, device=t_in.device)
    w_back = w_back.float()
    for lo, hi in _chunk_bounds(batch, T * max(n_in, n_out)):
        kappa, causal = _kernel_table(t_out[lo:hi], kernel, T)
        gb = g[lo:hi].double()[:, None, :]
        hot = _one_hot_time(t_in[lo:hi], T, torch.float32)
        weighted = (kappa * gb).float()
        grad_w -= torch.einsum("bto,bti->oi", weighted, hot)
        back = (causal * gb).float() @ w_back
        idx = t_in[lo:hi].long().clamp(max=T - 1)[:, None, :]
        picked = back.gather(1, idx).squeeze(1)
        grad_t_in[lo:hi] = torch.where(t_in[lo:hi] < T, picked, 0.0)
    return grad_w, grad_t_in


BACKEND = TensorBackend("torch", forward_torch, grads_torch)
