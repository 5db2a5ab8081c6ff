"""Containers and small helpers shared by every backend of the single-spike IF layer."""

from __future__ import annotations

from typing import NamedTuple

import torch


class SpikeTimes(NamedTuple):
    """Result of one single-spike IF layer.

    times:  first spike step of each neuron, integers in [0, T]; T means "did not fire".
    v_fire: membrane potential V_j(t_j - d) at the crossing step (tie-breaking); for a
            neuron that did not fire, the potential at the window end.
    v_end:  membrane potential V_j(T - 1) at the window end (no-spike fallback).
    """

    times: torch.Tensor
    v_fire: torch.Tensor
    v_end: torch.Tensor


def binarize(weight: torch.Tensor) -> torch.Tensor:
    """sign(w) in {-1, +1} with sign(0) = +1 (hardware parity)."""
    return torch.where(weight >= 0, 1.0, -1.0).to(weight.dtype)


def check_times(t_in: torch.Tensor, T: int) -> None:
    """Validate the spike-time convention: integer values in [0, T], T = no spike."""
    if T < 2:
        raise ValueError(f"T must be an integer >= 2, got {T}")
    if t_in.dim() != 2:
        raise ValueError(f"spike times must have shape (batch, neurons), got {tuple(t_in.shape)}")
    if t_in.numel() and (t_in.min() < 0 or t_in.max() > T):
        raise ValueError(
            f"spike times must lie in [0, T={T}] (T = no spike), got range "
            f"[{t_in.min().item()}, {t_in.max().item()}]"
        )


def threshold_vector(
    threshold: torch.Tensor | float, n_out: int, like: torch.Tensor
) -> torch.Tensor:
    """Broadcast a scalar, per-layer (1,) or per-neuron (n_out,) threshold to (n_out,)."""
    theta = torch.as_tensor(threshold, dtype=torch.float32, device=like.device)
    if theta.numel() not in (1, n_out):
        raise ValueError(
            f"threshold must be a scalar, shape (1,) or shape ({n_out},), got {tuple(theta.shape)}"
        )
    return theta.reshape(-1).expand(n_out).contiguous()
