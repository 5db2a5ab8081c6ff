"""torchmetrics objects of the LightningModule (their states are summed across DDP ranks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torchmetrics import Metric


class StageMeans(Metric):
    """Per-sample means of several named statistics, one update per batch.

    ``update(values, n)`` adds each value's sum over the batch (0-d values count as batch
    means, weighted by ``n``); ``compute()`` gives {name: sum / samples}. One metric object
    for all statistics keeps the per-step cost to a handful of tensor ops.
    """

    full_state_update = False

    def __init__(self, names: Sequence[str]) -> None:
        super().__init__()
        self.names = list(names)
        self.add_state("total", default=torch.zeros(len(self.names), dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("samples", default=torch.zeros((), dtype=torch.float64),
                       dist_reduce_fx="sum")

    def update(self, values: Mapping[str, torch.Tensor], n: int) -> None:
        sums = [values[name].sum() if values[name].dim() else values[name] * n
                for name in self.names]
        self.total += torch.stack(sums).to(self.total)
        self.samples += n

    def compute(self) -> dict[str, torch.Tensor]:
        means = (self.total / self.samples.clamp(min=1)).float()
        return dict(zip(self.names, means, strict=True))


class FireCounts(Metric):
    """How many samples made each neuron fire, and how many samples were seen (DDP-summed).

    Used for the dead/saturated fractions of a stage and for dead-neuron revival.
    """

    full_state_update = False

    def __init__(self, n: int) -> None:
        super().__init__()
        self.add_state("counts", default=torch.zeros(n, dtype=torch.float64),
                       dist_reduce_fx="sum")
        self.add_state("samples", default=torch.zeros((), dtype=torch.float64),
                       dist_reduce_fx="sum")

    def update(self, fired: torch.Tensor) -> None:
        """``fired``: (B, n) bool, whether each neuron fired on each sample."""
        self.counts += fired.sum(0).to(self.counts)
        self.samples += fired.shape[0]

    def compute(self) -> tuple[torch.Tensor, torch.Tensor]:
        """(per-neuron fire counts, samples seen)."""
        return self.counts, self.samples


def dead_and_saturated(counters: Sequence[FireCounts]) -> tuple[torch.Tensor, torch.Tensor]:
    """Shares of the neurons of ``counters`` that fired on no sample / on every sample.

    Each counter is computed (DDP-gathered) once; layers are pooled neuron by neuron.
    """
    counts = [c.compute() for c in counters]
    dead = torch.cat([k == 0 for k, _ in counts]).float().mean()
    saturated = torch.cat([(k >= n) & (n > 0) for k, n in counts]).float().mean()
    return dead, saturated
