"""The protocol every backend of the single-spike IF layer implements, and what they share.

A backend simulates the layer (``forward``), computes the spike-timing gradient of a layer it
simulated (``grads``) and predicts the classes of a whole net, each sample stopped at its
first output spike (``predict_early_exit``). The layer resolves its backend once (see
``SpikingLinear.backend_for``); nothing here keeps state between calls.

Backends that are plain functions of spike times and forward weights (reference, torch,
clock-driven) subclass :class:`TensorBackend` and give only those two functions.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import torch

from bstdg.snn.readout import decide, decision_time
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import (
    SpikeTimes,
    binarize,
    check_batch_shape,
    check_finite,
    check_times,
)


class Backend(Protocol):
    """What the layer, the autograd Function and ``SpikingNet`` need from a backend."""

    name: str
    #: the kernel validates the spike times itself (in [0, T], integer-valued; so the layer
    #: need not)
    checks_times: bool

    def forward(
        self, t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, T: int, delay: int,
        binary: bool, keep: bool, window_trim: int = 0,
    ) -> tuple[SpikeTimes, Any]:
        """Spike times (float32, integer-valued), v_fire and v_end of the layer with latent
        ``weight`` (N_out, N_in) (forward weights sign(W), sign(0) = +1, when ``binary``),
        thresholds ``theta`` (N_out,), simulated for steps t + delay <= T - 1 - window_trim.
        With ``keep``, also what :meth:`grads` reuses (else None)."""
        ...

    def grads(
        self, saved: Any, t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor,
        w_back: torch.Tensor | None, spec: KernelSpec, T: int, need_t_in: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(dL/dW, dL/dt_in) for dL/dt_out = g after normalisation (``GradientRule.upstream``).
        ``saved``: what ``forward(keep=True)`` returned, or None (no forward: work from
        ``t_in`` alone). ``w_back``: the weights the error goes back through, or None for the
        forward's latent weight (needs ``saved``). Without ``need_t_in`` a backend may skip
        dL/dt_in and return None for it."""
        ...

    def predict_early_exit(
        self, net: Any, t_in: torch.Tensor, fallback: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(class decisions, decision steps) of ``net`` (a ``SpikingNet``) on ``t_in``, the
        decisions of ``decide(net(t_in), ...)``."""
        ...

    def net_forward(
        self, net: Any, t_in: torch.Tensor, keep: list[torch.Tensor | None]
    ) -> list[torch.Tensor] | None:
        """``net`` (a ``SpikingNet``) on ``t_in`` as one autograd Function: (t_1, ..., t_L,
        v_fire_L, v_end_L), with the spikes of hidden layer l reaching layer l + 1 where
        ``keep[l]`` (None: all), as the layer-by-layer path computes them; or None when
        the backend runs the net one layer at a time."""
        ...


# --------------------------------------------------------------------- shared helpers


def check_layer(t_in: torch.Tensor, weight: torch.Tensor, T: int, delay: int) -> None:
    """Shapes, T and delay of a layer call (not the time range: see ``check_times``)."""
    if T < 2:
        raise ValueError(f"T must be an integer >= 2, got {T}")
    check_batch_shape(t_in)
    if delay < 0:
        raise ValueError(f"delay must be >= 0 time steps, got {delay}")
    check_weight_shape(weight, t_in.shape[1])


def check_weight_shape(weight: torch.Tensor, n_in: int) -> None:
    """A layer's weight is (N_out, N_in), N_in the width of the spikes it receives."""
    if weight.dim() != 2 or weight.shape[1] != n_in:
        raise ValueError(f"weight must have shape (N_out, {n_in}), got {tuple(weight.shape)}")


def check_trim(T: int, window_trim: int) -> None:
    if window_trim < 0 or T - window_trim < 2:
        raise ValueError(
            f"window_trim must be an integer in [0, T - 2] = [0, {T - 2}] (steps cut from the "
            f"end of the window), got {window_trim}"
        )


def check_layer_inputs(
    t_in: torch.Tensor | None, weight: torch.Tensor, threshold: torch.Tensor, T: int,
    backend: Backend,
) -> None:
    """What a layer call checks before it runs: the spike times ``t_in`` unless None
    (integer-valued, in [0, T]; left to a backend whose kernel validates them on its way,
    except float64 times, which the layer rounds to float32 first: 7.99999999 would become 8)
    and finite weights and thresholds. One reduction per tensor."""
    if t_in is not None and (not backend.checks_times or t_in.dtype == torch.float64):
        check_times(t_in, T)
    check_finite(weight, "weight")
    check_finite(threshold, "threshold")


def trim_window(t_in: torch.Tensor, T: int, window_trim: int) -> tuple[torch.Tensor, int]:
    """Inputs and window length of the shortened simulation: inputs at or after
    T' = T - window_trim are never integrated before the last crossing test, so they
    become "no spike" (T') there."""
    T_sim = T - window_trim
    return t_in.clamp(max=T_sim), T_sim


def untrim(out: SpikeTimes, T_sim: int, T: int) -> SpikeTimes:
    """Map the shortened window's "no spike" T' back to T."""
    times = torch.where(out.times >= T_sim, torch.full_like(out.times, T), out.times)
    return SpikeTimes(times, out.v_fire, out.v_end)


def float_times(out: SpikeTimes) -> SpikeTimes:
    return SpikeTimes(out.times.to(torch.float32), out.v_fire, out.v_end)


def _by_name(name: str) -> Backend:
    from bstdg.snn.backends import backend_by_name

    return backend_by_name(name)


class BackendBase:
    """What the backends share: one object per backend, copied and pickled by name,
    ``predict_early_exit`` for a backend without an event-driven one (the full forward of
    every layer, then ``decide``: same decisions, no time saved) and no whole-net Function
    (``net_forward`` None: the layers run one by one)."""

    name: str

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _by_name, (self.name,)

    def __repr__(self) -> str:
        return f"<{self.name} backend>"

    def net_forward(
        self, net: Any, t_in: torch.Tensor, keep: list[torch.Tensor | None]
    ) -> list[torch.Tensor] | None:
        return None

    def predict_early_exit(
        self, net: Any, t_in: torch.Tensor, fallback: str
    ) -> tuple[torch.Tensor, torch.Tensor]:
        out = net(t_in)
        pred = decide(out.out_times, out.v_fire, out.v_end, net.T, fallback)
        return pred, decision_time(out.out_times).long()


class TensorBackend(BackendBase):
    """A backend made of two plain functions of spike times: ``simulate(t_in, w_hat, theta,
    T, delay) -> SpikeTimes`` and ``pair_grads(t_in, t_out, g, w_back, spec, T) -> (dL/dW,
    dL/dt_in)``. The forward weights are materialised (sign(W) when binary); the backward
    keeps nothing but the latent weight."""

    checks_times = False

    def __init__(self, name: str, simulate: Callable[..., SpikeTimes],
                 pair_grads: Callable[..., tuple[torch.Tensor, torch.Tensor | None]]) -> None:
        self.name = name
        self.simulate = simulate
        self.pair_grads = pair_grads

    def forward(
        self, t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, T: int, delay: int,
        binary: bool, keep: bool, window_trim: int = 0,
    ) -> tuple[SpikeTimes, Any]:
        w_hat = binarize(weight) if binary else weight
        if window_trim:
            t_sim, T_sim = trim_window(t_in, T, window_trim)
            out = untrim(self.simulate(t_sim, w_hat, theta, T_sim, delay), T_sim, T)
        else:
            out = self.simulate(t_in, w_hat, theta, T, delay)
        return float_times(out), (weight if keep else None)

    def grads(
        self, saved: Any, t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor,
        w_back: torch.Tensor | None, spec: KernelSpec, T: int, need_t_in: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        return self.pair_grads(t_in, t_out, g, saved if w_back is None else w_back, spec, T)
