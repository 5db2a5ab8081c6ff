"""Containers and small helpers shared by every backend of the single-spike IF layer."""

from __future__ import annotations

import math
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


def _bad_times(t_in: torch.Tensor, T: int) -> str:
    """What is wrong with spike times that failed :func:`check_times` (slow path)."""
    t = t_in.detach()
    parts = []
    if t.is_floating_point():
        nan = int(torch.isnan(t).sum())
        inf = int(torch.isinf(t).sum())
        finite = t[torch.isfinite(t)]
        frac = finite[finite != finite.round()]
        if nan:
            parts.append(f"{nan} NaN")
        if inf:
            parts.append(f"{inf} infinite")
        if frac.numel():
            parts.append(f"{frac.numel()} non-integer (e.g. {frac[0].item()})")
        t = finite
    if t.numel():
        outside = t[(t < 0) | (t > T)]
        if outside.numel():
            parts.append(
                f"{outside.numel()} outside [0, {T}] (range [{t.min().item()}, {t.max().item()}])"
            )
    return ", ".join(parts) or "invalid values"


def check_batch_shape(t_in: torch.Tensor) -> None:
    """Spike times come as a (batch, neurons) matrix."""
    if t_in.dim() != 2:
        raise ValueError(f"spike times must have shape (batch, neurons), got {tuple(t_in.shape)}")


def check_threshold_size(shape: tuple[int, ...], n_out: int) -> None:
    """A threshold is a scalar, per-layer (1,) or per-neuron (n_out,) tensor."""
    if math.prod(shape) not in (1, n_out):
        raise ValueError(
            f"threshold must be a scalar, shape (1,) or shape ({n_out},), got {tuple(shape)}"
        )


def check_times(t_in: torch.Tensor, T: int) -> None:
    """Validate the spike-time convention: integer values in [0, T], T = no spike (T is a
    validated ``LayerSpec.T``).

    One vectorised test per call: min/max for integer tensors; for float tensors
    clamp-round-compare, which also catches NaN, infinities and fractions."""
    check_batch_shape(t_in)
    if not t_in.numel():
        return
    if t_in.is_floating_point():
        ok = torch.equal(t_in.detach().clamp(0, T).round(), t_in.detach())
    elif t_in.dtype == torch.bool:
        ok = True
    else:
        lo, hi = torch.aminmax(t_in.detach())
        ok = bool(lo >= 0) and bool(hi <= T)
    if not ok:
        raise ValueError(
            f"spike times must lie in [0, T={T}] and be integers (T = no spike); got "
            f"{_bad_times(t_in, T)}"
        )


def check_finite(tensor: torch.Tensor, name: str) -> None:
    """Refuse NaN or infinite entries in a weight or threshold tensor (one reduction: a
    non-finite entry makes the sum non-finite; an overflowing sum is confirmed exactly). The
    sum is tested as a Python float: ``torch.isfinite`` on it is four more operator calls,
    which made the check of a 784-400 weight 1.6x and of a threshold vector 2.8x slower."""
    t = tensor.detach()
    if not t.is_floating_point() or not t.numel():
        return
    if math.isfinite(t.sum().item()) or bool(torch.isfinite(t).all()):
        return
    bad = ~torch.isfinite(t)
    raise ValueError(
        f"{name} must be finite: it has {int(bad.sum())} NaN/infinite entries of "
        f"{t.numel()} (first at index {tuple(int(i) for i in bad.nonzero()[0])}). A NaN/inf "
        f"weight gives backend-dependent spike times; check the optimiser settings "
        f"(learning rate) or the values written into the layer."
    )


def threshold_vector(
    threshold: torch.Tensor | float, n_out: int, like: torch.Tensor
) -> torch.Tensor:
    """Broadcast a scalar, per-layer (1,) or per-neuron (n_out,) threshold to (n_out,)."""
    theta = torch.as_tensor(threshold, dtype=torch.float32, device=like.device)
    check_threshold_size(tuple(theta.shape), n_out)
    return theta.reshape(-1).expand(n_out).contiguous()
