"""Spike encoders: inputs → single spike times (int64 in ``[0, T]``, ``T`` = no spike).

Every encoder satisfies the :class:`SpikeEncoder` protocol (``T`` and ``__call__``).
Pure torch; no Lightning/Hydra/W&B imports. See docs/method.md, "Input encoding".
"""

from .encoders import LATENCY_CODES, LatencyEncoder, SHDFirstSpikeEncoder
from .latency import latency_linear, latency_log
from .protocol import SpikeEncoder
from .shd import shd_first_spike

__all__ = [
    "LATENCY_CODES",
    "LatencyEncoder",
    "SHDFirstSpikeEncoder",
    "SpikeEncoder",
    "latency_linear",
    "latency_log",
    "shd_first_spike",
]
