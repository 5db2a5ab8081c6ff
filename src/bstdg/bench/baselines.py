"""Baselines the BSTDG net is compared with, in plain torch.

* :func:`make_ann` -- the same-shape ANN (Linear-ReLU-Linear).
* :class:`ClockDrivenNet` -- the same binarized single-spike IF network simulated the way the
  reference papers' code does it (S4NN / BS4NN): the ``clock`` backend
  (``bstdg.snn.backends.clock``) updates the membrane potential of every neuron at every time
  step t = 0..T-1 from the input spikes at t with dense (B, N) ops, all T steps, no early
  exit; the dense input spike raster (T, B, N_in) of every layer is stored and the same
  spike-timing gradient (:class:`~bstdg.snn.rules.GradientRule`) is computed from it step by
  step in the backward pass.
* :class:`BPTTNet` -- a same-shape LIF network unrolled over T with a fast-sigmoid surrogate
  gradient, fed the dense latency spike raster, CE loss on output spike counts (the snntorch
  tutorial approach; snntorch itself is not a dependency).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from bstdg.snn.autograd import spike_timing_layer
from bstdg.snn.backends import backend_by_name
from bstdg.snn.backends.clock import dense_raster
from bstdg.snn.layers import NetOutput, SpikingNet

CLOCK = backend_by_name("clock")
__all__ = ["BPTTNet", "ClockDrivenNet", "FastSigmoidSpike", "dense_raster", "make_ann"]


def make_ann(n_inputs: int = 784, hidden: int = 400, n_classes: int = 10) -> nn.Module:
    """Linear-ReLU-Linear of the same shape as the spiking net."""
    return nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


# --------------------------------------------------------------------------- clock-driven


class ClockDrivenNet(nn.Module):
    """The parameters and settings of a :class:`SpikingNet`, simulated clock-driven: every
    layer runs the ``clock`` backend (``bstdg.snn.backends.clock``) through the same autograd
    Function and gradient rule as the event-driven net."""

    def __init__(self, net: SpikingNet) -> None:
        super().__init__()
        self.net = net
        self.T = net.T

    def forward(self, t_in: torch.Tensor) -> NetOutput:
        times: list[torch.Tensor] = []
        t = t_in.float()
        v_fire = v_end = t
        for layer in self.net.layers:
            t, v_fire, v_end = spike_timing_layer(t, layer.weight, layer.threshold, layer.spec,
                                                  CLOCK)
            times.append(t)
        return NetOutput(times, v_fire, v_end)

    def constrain_(self) -> None:
        self.net.constrain_()


# --------------------------------------------------------------------------------- BPTT


class FastSigmoidSpike(torch.autograd.Function):
    """Heaviside forward, fast-sigmoid surrogate 1 / (1 + slope |x|)^2 backward."""

    @staticmethod
    def forward(ctx: Any, x: torch.Tensor, slope: float) -> torch.Tensor:  # type: ignore[override]
        ctx.save_for_backward(x)
        ctx.slope = slope
        return (x > 0).to(x.dtype)

    @staticmethod
    def backward(ctx: Any, grad: torch.Tensor) -> tuple[torch.Tensor, None]:  # type: ignore[override]
        (x,) = ctx.saved_tensors
        return grad / (1.0 + ctx.slope * x.abs()) ** 2, None


class BPTTNet(nn.Module):
    """784-400-10 LIF network (beta, threshold 1, reset by subtraction, detached reset)
    unrolled over the T steps of a dense (T, B, N) input raster; returns the output spike
    counts (B, 10). Trained by backprop through time with a fast-sigmoid surrogate."""

    def __init__(self, n_inputs: int = 784, hidden: int = 400, n_classes: int = 10,
                 beta: float = 0.95, threshold: float = 1.0, slope: float = 25.0) -> None:
        super().__init__()
        self.fc1 = nn.Linear(n_inputs, hidden)
        self.fc2 = nn.Linear(hidden, n_classes)
        self.beta, self.threshold, self.slope = beta, threshold, slope

    def forward(self, raster: torch.Tensor) -> torch.Tensor:
        steps, batch = raster.shape[:2]
        mem1 = raster.new_zeros(batch, self.fc1.out_features)
        mem2 = raster.new_zeros(batch, self.fc2.out_features)
        counts = raster.new_zeros(batch, self.fc2.out_features)
        for step in range(steps):
            mem1 = self.beta * mem1 + self.fc1(raster[step])
            spk1 = FastSigmoidSpike.apply(mem1 - self.threshold, self.slope)
            mem1 = mem1 - spk1.detach() * self.threshold
            mem2 = self.beta * mem2 + self.fc2(spk1)
            spk2 = FastSigmoidSpike.apply(mem2 - self.threshold, self.slope)
            mem2 = mem2 - spk2.detach() * self.threshold
            counts = counts + spk2
        return counts
