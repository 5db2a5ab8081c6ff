"""Homeostatic thresholds: hidden neurons pulled towards a target firing rate.

A hidden neuron that stops firing gets no spike-timing gradient (the causal mask
[t_i < t_j] is empty for it), so nothing in the rule brings it back; one that fires on every
sample carries no information. Adaptive thresholds (intrinsic plasticity) counter both.
"""

from __future__ import annotations

import torch


@torch.no_grad()
def homeostatic_threshold_step_(
    theta: torch.Tensor, fired_counts: torch.Tensor, n_samples: float, target_rate: float,
    rate: float,
) -> None:
    """In place, after an optimiser step:

        theta_j += rate * (r_j - target_rate),   r_j = fired_counts_j / n_samples,

    the share of the step's samples on which neuron j fired (counts summed over DDP ranks
    by the caller). A per-layer threshold (shape (1,)) follows the layer's mean rate. A
    silent neuron's threshold falls by ``rate * target_rate`` per step, a saturated one's
    rises by ``rate * (1 - target_rate)``. No samples (n_samples = 0): no change.
    """
    if n_samples <= 0:
        return
    r = (fired_counts / n_samples).to(theta.dtype)
    if theta.numel() == 1:
        r = r.mean().reshape(theta.shape)
    theta.add_(rate * (r - target_rate))
