"""Homeostatic thresholds: hidden neurons pulled towards a target firing rate.

A hidden neuron that stops firing gets no spike-timing gradient (the causal mask
[t_i < t_j] is empty for it), so nothing in the rule brings it back; one that fires on every
sample carries no information. Adaptive thresholds (intrinsic plasticity) counter both.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def homeostatic_rate_step_(
    theta: torch.Tensor, rates: torch.Tensor, target_rate: float, rate: float
) -> None:
    """In place: theta_j += rate * (r_j - target_rate) for the firing rates r (N,) (the share
    of samples on which neuron j fired). A per-layer threshold (shape (1,)) follows their
    mean. A silent neuron's threshold falls by ``rate * target_rate`` per step, a saturated
    one's rises by ``rate * (1 - target_rate)``."""
    r = rates.to(theta.dtype)
    if theta.numel() == 1:
        r = r.mean().reshape(theta.shape)
    theta.add_(rate * (r - target_rate))


@torch.no_grad()
def homeostatic_threshold_step_(
    theta: torch.Tensor, fired: torch.Tensor, target_rate: float, rate: float
) -> None:
    """:func:`homeostatic_rate_step_` with r_j = mean_b [t_bj < T] of one batch (``fired``
    (B, N) bool); an empty batch changes nothing."""
    if fired.shape[0] == 0:
        return
    homeostatic_rate_step_(theta, fired.float().mean(dim=0), target_rate, rate)
