"""The spec of one single-spike IF layer: its window, delay, weight kind and gradient rule.

Everything a layer call needs besides tensors travels down the core as one
:class:`LayerSpec`, from ``SpikingNet`` through ``SpikingLinear``, the autograd Function and
``layer_forward`` / ``layer_grads`` to the backend, and is validated once, when the spec is
built. The window: steps k = 0 .. T - 1 are simulated, a spike at t = k + delay counts when
t <= T - 1 - window_trim, and T means "no spike".
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field

from bstdg.snn.rules import GradientRule


def is_integer(value: object) -> bool:
    """Whether ``value`` is an integer (bools excluded)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


@dataclass(frozen=True)
class LayerSpec:
    """What one layer call needs besides tensors.

    ``T``: the window length in time steps (>= 2); ``delay``: steps from a crossing to its
    spike; ``binary``: forward weights sign(W) (sign(0) = +1) instead of W; ``rule``: the
    spike-timing gradient; ``window_trim``: steps cut from the end of the simulated window
    (SSTDP: 2), so that spikes fall at t <= T - 1 - window_trim.
    """

    T: int
    delay: int = 1
    binary: bool = True
    rule: GradientRule = field(default_factory=GradientRule)
    window_trim: int = 0

    def __post_init__(self) -> None:
        if not is_integer(self.T) or self.T < 2:
            raise ValueError(f"T must be an integer >= 2 time steps, got {self.T!r}")
        if not isinstance(self.binary, bool):
            raise ValueError(f"binary must be true (sign(W) forward weights) or false (W), "
                             f"got {self.binary!r}")
        if not isinstance(self.rule, GradientRule):
            raise ValueError(f"rule must be a GradientRule, got {type(self.rule).__name__}")
        if not is_integer(self.window_trim) or not 0 <= self.window_trim <= self.T - 2:
            raise ValueError(
                f"window_trim must be in [0, T - 2] = [0, {self.T - 2}] (an integer number of "
                f"steps cut from the end of the window), got {self.window_trim!r}"
            )
        if not is_integer(self.delay) or self.delay < 0:
            raise ValueError(f"delay must be >= 0 time steps (an integer), got {self.delay!r}")
        if self.delay > self.last_step:
            raise ValueError(
                "delay must be an integer in [0, T - 1"
                + (" - window_trim" if self.window_trim else "")
                + f"] = [0, {self.last_step}] time steps (a spike at step t + delay must fall "
                f"inside the window, else no neuron can fire), got {self.delay!r}"
            )
        for name in ("T", "delay", "window_trim"):  # numpy integers as plain ints
            object.__setattr__(self, name, int(getattr(self, name)))

    @property
    def last_step(self) -> int:
        """The last step a spike can fall on: T - 1 - window_trim."""
        return self.T - 1 - self.window_trim
