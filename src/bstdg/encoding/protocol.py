"""The encoder interface the rest of the platform relies on (torch only)."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch

__all__ = ["SpikeEncoder"]


@runtime_checkable
class SpikeEncoder(Protocol):
    """Maps a batch of raw inputs to single spike times; what a model needs of its encoder.

    ``T`` is the number of time steps: returned times are ``torch.long`` in ``[0, T]``, with
    ``T`` meaning "no spike"; the network's time axis (``model.net.T``) is taken from it.
    ``__call__`` takes a raw batch (uint8 images ``(B, N)``, or SHD padded events
    ``(B, E, 2)``) and returns ``(B, n_inputs)`` times on the input's device, holding no state
    between calls. Runtime-checkable: ``isinstance(enc, SpikeEncoder)`` checks that both exist.
    """

    T: int

    def __call__(self, x: torch.Tensor) -> torch.Tensor: ...
