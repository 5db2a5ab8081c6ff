"""Tensor core: single-spike IF layers, spike-timing gradients, readout, losses.

Pure torch (plus numba for the CPU kernel); no Lightning, Hydra or W&B imports.
"""

from bstdg.snn.functional import (
    BACKENDS,
    first_spike_times,
    get_backend,
    resolve_backend,
    timing_grads,
)
from bstdg.snn.layers import NetOutput, SpikingLinear, SpikingNet
from bstdg.snn.losses import (
    NegTimeCrossEntropy,
    RelativeTargetMSE,
    ce_neg_time,
    relative_target_mse,
)
from bstdg.snn.readout import correct_with_ties, decide, decision_time
from bstdg.snn.rules import GradientRule, KernelSpec
from bstdg.snn.spec import LayerSpec
from bstdg.snn.spikes import SpikeTimes, binarize

__all__ = [
    "BACKENDS", "GradientRule", "KernelSpec", "LayerSpec", "NegTimeCrossEntropy", "NetOutput",
    "RelativeTargetMSE", "SpikeTimes", "SpikingLinear", "SpikingNet", "binarize",
    "ce_neg_time", "correct_with_ties", "decide", "decision_time", "first_spike_times",
    "get_backend", "relative_target_mse", "resolve_backend", "timing_grads",
]
