"""Training samplers whose order depends only on (seed, epoch).

Lightning calls ``set_epoch`` before every training epoch, so a run resumed from a
checkpoint at epoch k sees exactly the batches an uninterrupted run sees at epoch k.
``SAMPLINGS`` names the training orders a DataModule offers: ``permutation`` (shuffle),
``replacement`` (n indices drawn with replacement, BS4NN's ``randint(0, 60000, 60000)``)
and ``sequential`` (dataset order every epoch, as S4NN iterates).
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch.utils.data import Sampler

SAMPLINGS = ("permutation", "replacement", "sequential")


class EpochSeededSampler(Sampler[int]):
    """Random permutation of ``range(n)`` drawn from ``seed + epoch``."""

    def __init__(self, n: int, seed: int) -> None:
        self.n, self.seed, self.epoch = n, seed, 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __iter__(self) -> Iterator[int]:
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randperm(self.n, generator=gen).tolist())

    def __len__(self) -> int:
        return self.n


class EpochSeededReplacementSampler(EpochSeededSampler):
    """``n`` indices drawn uniformly from ``range(n)`` with replacement, seeded by
    ``seed + epoch`` (an epoch sees about 63 % of the samples, some several times)."""

    def __iter__(self) -> Iterator[int]:
        gen = torch.Generator().manual_seed(self.seed + self.epoch)
        return iter(torch.randint(0, self.n, (self.n,), generator=gen).tolist())


def training_sampler(sampling: str, n: int, seed: int) -> Sampler[int] | None:
    """The sampler of a training loader (None: dataset order)."""
    if sampling not in SAMPLINGS:
        raise ValueError(f"unknown sampling {sampling!r}; valid: {', '.join(SAMPLINGS)}")
    if sampling == "sequential":
        return None
    if sampling == "replacement":
        return EpochSeededReplacementSampler(n, seed)
    return EpochSeededSampler(n, seed)
