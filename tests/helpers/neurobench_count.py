"""NeuroBench's counts taken the way its harness takes them, step by step: each layer's
input at step t is the binary vector of the spikes at t; a copy of the layer with every
weight 1 (and all-ones inputs for ``dense``) gives the synaptic operations, and the
neurons' step outputs give the activations. Independent of bstdg.snn.neurobench, which
counts from spike times in one pass."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn


def stepwise_counts(times: Sequence[torch.Tensor], weights: Sequence[torch.Tensor],
                    T: int) -> dict[str, float]:
    """Per-sample ``effective_acs`` and ``dense`` synaptic operations and the activation
    sparsity of a net whose layers' spike times are ``times`` (input first, (B, N) each;
    ``t >= T``: no spike in the window) and forward weights ``weights`` ((N_out, N_in) each):
    NeuroBench's binary copy of a layer has 1 where a weight is non-zero, and all ones for
    the dense count."""
    batch = times[0].shape[0]
    acs = dense = active = outputs = 0.0
    for src, dst, w in zip(times[:-1], times[1:], weights, strict=True):
        nonzero = nn.Linear(src.shape[1], dst.shape[1], bias=False)
        ones = nn.Linear(src.shape[1], dst.shape[1], bias=False)
        with torch.no_grad():
            nonzero.weight.copy_((w != 0).float())
            nn.init.ones_(ones.weight)
            for t in range(T):
                acs += float(nonzero((src == t).float()).sum())
                dense += float(ones(torch.ones(src.shape)).sum())
                fired = dst == t
                active += float(fired.count_nonzero())
                outputs += fired.numel()
    return {"effective_acs": acs / batch, "dense": dense / batch,
            "activation_sparsity": 1.0 - active / outputs}
