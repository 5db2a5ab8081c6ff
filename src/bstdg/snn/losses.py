"""Losses on output spike times (method.md §2.4). Targets are detached."""

from __future__ import annotations

import torch
import torch.nn.functional as F

TARGET_VARIANTS = ("s4nn", "bs4nn", "sstdp")
REDUCTIONS = ("half_sum", "mse")


def relative_targets(
    times: torch.Tensor, labels: torch.Tensor, T: int, gamma: float, variant: str = "s4nn"
) -> torch.Tensor:
    """Relative target times: the label fires first, the others at least gamma later.

    tau = min_k t_k. s4nn/bs4nn: T_k = t_k, except T_k = min(tau + gamma, T) where
    t_k - tau < gamma, and T_label = tau. If no output fires (tau = T): s4nn sets
    T_label = T - gamma (others T), bs4nn sets all targets to T (no error signal).
    sstdp: tau := T - gamma when tau = T; T_k = min(max(t_k, tau + gamma), T), T_label = tau.
    """
    if variant not in TARGET_VARIANTS:
        raise ValueError(f"unknown target variant {variant!r}; valid: {', '.join(TARGET_VARIANTS)}")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0 time steps, got {gamma}")
    t = times.detach().float()
    tau = t.min(dim=1, keepdim=True).values
    silent = tau == T
    if variant == "sstdp":
        tau = torch.where(silent, torch.full_like(tau, T - gamma), tau)
        target = torch.clamp(torch.maximum(t, tau + gamma), max=T)
    else:
        push = torch.clamp(tau + gamma, max=T).expand_as(t)
        target = torch.where(t - tau < gamma, push, t)
    target = target.scatter(1, labels[:, None], tau)
    if variant == "s4nn":
        silent_target = torch.full_like(t, float(T)).scatter(1, labels[:, None], float(T - gamma))
        target = torch.where(silent, silent_target, target)
    elif variant == "bs4nn":
        target = torch.where(silent, torch.full_like(t, float(T)), target)
    return target


def relative_target_mse(
    times: torch.Tensor,
    labels: torch.Tensor,
    T: int,
    gamma: float = 3.0,
    variant: str = "s4nn",
    reduction: str = "half_sum",
) -> torch.Tensor:
    """Relative-target squared error. ``half_sum``: L = mean_b 1/2 sum_k ((T_k - t_k) / T)^2
    (S4NN/BS4NN's e_k = (T_k - t_k) / T); ``mse``: L = mean_{b,k} (t_k - T_k)^2, SSTDP's
    ``F.mse_loss``. Per-sample normalised rules see the same direction either way; the scale
    only matters against the rule's ``eps``."""
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")
    target = relative_targets(times, labels, T, gamma, variant)
    if reduction == "mse":
        return F.mse_loss(times, target)
    return 0.5 * (((target - times) / T) ** 2).sum(dim=1).mean()


def ce_neg_time(
    times: torch.Tensor, labels: torch.Tensor, T: int, temperature: float = 1.0
) -> torch.Tensor:
    """Softmax cross-entropy on negative spike times: p_k ~ exp(-t_k / temperature)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return F.cross_entropy(-times / temperature, labels)


class RelativeTargetMSE:
    """Configurable callable wrapper of :func:`relative_target_mse` (Hydra-friendly)."""

    def __init__(
        self, gamma: float = 3.0, variant: str = "s4nn", reduction: str = "half_sum"
    ) -> None:
        relative_targets(torch.zeros(1, 2), torch.zeros(1, dtype=torch.long), 4, gamma, variant)
        if reduction not in REDUCTIONS:
            raise ValueError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")
        self.gamma, self.variant, self.reduction = gamma, variant, reduction

    def __call__(self, times: torch.Tensor, labels: torch.Tensor, T: int) -> torch.Tensor:
        return relative_target_mse(times, labels, T, self.gamma, self.variant, self.reduction)


class NegTimeCrossEntropy:
    """Configurable callable wrapper of :func:`ce_neg_time` (Hydra-friendly)."""

    def __init__(self, temperature: float = 1.0) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def __call__(self, times: torch.Tensor, labels: torch.Tensor, T: int) -> torch.Tensor:
        return ce_neg_time(times, labels, T, self.temperature)
