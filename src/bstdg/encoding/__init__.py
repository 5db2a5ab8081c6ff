"""Spike encoders: inputs → single spike times (int64 in ``[0, T]``, ``T`` = no spike).

Pure torch; no Lightning/Hydra/W&B imports. See method.md §2.1.
"""

from .encoders import LATENCY_CODES, LatencyEncoder, SHDFirstSpikeEncoder
from .latency import latency_linear, latency_log
from .shd import bin_counts, shd_binned_events, shd_first_spike

__all__ = [
    "LATENCY_CODES",
    "LatencyEncoder",
    "SHDFirstSpikeEncoder",
    "bin_counts",
    "latency_linear",
    "latency_log",
    "shd_binned_events",
    "shd_first_spike",
]
