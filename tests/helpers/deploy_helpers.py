"""Helpers of the deployment tests: small random nets, spike times, edited exports."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import torch

from bstdg.encoding import LatencyEncoder
from bstdg.snn import SpikingNet

N_IN, N_CLASSES = 20, 5
SOURCE = {"checkpoint": None, "checkpoint_sha256": "0" * 64}


def small_model(
    T: int = 16, hidden: tuple[int, ...] = (12,), delay: int = 1, window_trim: int = 0,
    fallback_offset: int = 1, fallback: str = "max_potential", threshold_mode: str = "per_neuron",
    encoder: Any = None, seed: int = 0, theta_min: float | None = None,
) -> SimpleNamespace:
    """A random binarized net (with fractional, some negative, thresholds and some latent
    weights exactly 0) in the shape bstdg-export reads: ``net``, ``encoder``, ``fallback``;
    ``theta_min`` clamps the thresholds (as training does)."""
    torch.manual_seed(seed)
    n_layers = len(hidden) + 1
    net = SpikingNet(
        N_IN, N_CLASSES, T, hidden=list(hidden), threshold_mode=threshold_mode,
        threshold_init=[2.0] * n_layers, init_range=[[-1.0, 2.0]] * n_layers, delay=delay,
        window_trim=window_trim, fallback_offset=fallback_offset,
    )
    with torch.no_grad():
        for layer in net.layers:
            layer.weight[torch.rand(layer.weight.shape) < 0.1] = 0.0  # sign(0) = +1
            theta = torch.rand(layer.threshold.shape) * 5.0 - 0.7
            if theta_min is not None:
                theta = theta.clamp(min=theta_min)
            layer.threshold.copy_(theta)
    return SimpleNamespace(net=net, encoder=encoder or LatencyEncoder(T), fallback=fallback, T=T)


def random_times(n: int, n_in: int, T: int, seed: int = 1) -> torch.Tensor:
    """Spike times (n, n_in) with a per-sample density in (0.05, 1), silent entries = T."""
    gen = torch.Generator().manual_seed(seed)
    density = torch.rand(n, 1, generator=gen) * 0.95 + 0.05
    times = torch.randint(0, T, (n, n_in), generator=gen)
    return torch.where(torch.rand(n, n_in, generator=gen) < density, times, T)


def rewrite(path: Path, dest: Path, edit: Any) -> Path:
    """Copy the export ``path`` to ``dest`` with ``edit(members)`` applied to its arrays."""
    with np.load(path, allow_pickle=False) as archive:
        members = {name: archive[name] for name in archive.files}
    edit(members)
    with dest.open("wb") as fh:
        np.savez(fh, **members)
    return dest
