"""The protocol every backend of the single-spike IF layer implements, and what they share.

A backend simulates the layer (``forward``) and computes the spike-timing gradient of a
layer it simulated (``grads``), both for one :class:`~bstdg.snn.spec.LayerSpec`; a backend
may also run a whole net at once (``net_forward``, ``predict_early_exit``: the weights,
thresholds and specs of its layers). The layer resolves its backend once (see
``SpikingLinear.backend_for``); nothing here keeps state between calls.

Backends that are plain functions of spike times and forward weights (reference, torch,
clock-driven) subclass :class:`TensorBackend` and give only those two functions.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

from bstdg.snn.rules import KernelSpec
from bstdg.snn.spec import LayerSpec
from bstdg.snn.spikes import SpikeTimes, binarize, check_batch_shape, check_finite, check_times


class Backend(Protocol):
    """What the layer, the autograd Function and ``SpikingNet`` need from a backend."""

    name: str
    #: the kernel validates the spike times itself (in [0, T], integer-valued; so the layer
    #: need not)
    checks_times: bool

    def forward(
        self, t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, spec: LayerSpec,
        keep: bool,
    ) -> tuple[SpikeTimes, Any]:
        """Spike times (float32, integer-valued), v_fire and v_end of the layer with latent
        ``weight`` (N_out, N_in) (forward weights sign(W), sign(0) = +1, when
        ``spec.binary``), thresholds ``theta`` (N_out,), simulated for steps
        t + delay <= T - 1 - window_trim. With ``keep``, also what :meth:`grads` reuses
        (else None)."""
        ...

    def grads(
        self, saved: Any, t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor,
        w_back: torch.Tensor | None, kernel: KernelSpec, spec: LayerSpec,
        need_t_in: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(dL/dW, dL/dt_in) for dL/dt_out = g after normalisation (``GradientRule.upstream``),
        with the pair rule ``kernel`` over the window of ``spec``. ``saved``: what
        ``forward(keep=True)`` returned, or None (no forward: work from ``t_in`` alone).
        ``w_back``: the weights the error goes back through, or None for the forward's
        latent weight (needs ``saved``). Without ``need_t_in`` a backend may skip dL/dt_in
        and return None for it."""
        ...

    def net_forward(
        self, t_in: torch.Tensor, weights: Sequence[torch.Tensor],
        thresholds: Sequence[torch.Tensor], specs: Sequence[LayerSpec],
        keep: Sequence[torch.Tensor | None],
    ) -> list[torch.Tensor] | None:
        """The net of layers (``weights``, ``thresholds``, ``specs``) on ``t_in`` as one
        autograd Function: (t_1, ..., t_L, v_fire_L, v_end_L), with the spikes of hidden
        layer l reaching layer l + 1 where ``keep[l]`` (None: all), as the layer-by-layer
        path computes them; or None when the backend runs the net one layer at a time."""
        ...

    def predict_early_exit(
        self, t_in: torch.Tensor, weights: Sequence[torch.Tensor],
        thresholds: Sequence[torch.Tensor], specs: Sequence[LayerSpec], fallback: str,
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        """(class decisions, decision steps) of the net on ``t_in``, each sample stopped at
        its first output spike, with the decisions of ``decide`` on the full forward (whose
        fallback reads the window-end potential); or None when the backend has no such
        path for this net."""
        ...


# --------------------------------------------------------------------- shared helpers


def check_weight_shape(weight: torch.Tensor, n_in: int) -> None:
    """A layer's weight is (N_out, N_in), N_in the width of the spikes it receives."""
    if weight.dim() != 2 or weight.shape[1] != n_in:
        raise ValueError(f"weight must have shape (N_out, {n_in}), got {tuple(weight.shape)}")


def check_shapes(t_in: torch.Tensor, weight: torch.Tensor) -> None:
    """Spike times (B, N_in) and a weight (N_out, N_in) that fit them."""
    check_batch_shape(t_in)
    check_weight_shape(weight, t_in.shape[1])


def check_layer_inputs(
    t_in: torch.Tensor | None, weight: torch.Tensor, threshold: torch.Tensor, spec: LayerSpec,
    backend: Backend,
) -> None:
    """What a layer call checks before it runs: the spike times ``t_in`` unless None
    (integer-valued, in [0, T]; left to a backend whose kernel validates them on its way,
    except float64 times, which the layer rounds to float32 first: 7.99999999 would become 8)
    and finite weights and thresholds. One reduction per tensor."""
    if t_in is not None and (not backend.checks_times or t_in.dtype == torch.float64):
        check_times(t_in, spec.T)
    check_finite(weight, "weight")
    check_finite(threshold, "threshold")


def trim_window(t_in: torch.Tensor, spec: LayerSpec) -> tuple[torch.Tensor, int]:
    """Inputs and window length of the shortened simulation: inputs at or after
    T' = T - window_trim are never integrated before the last crossing test, so they
    become "no spike" (T') there."""
    T_sim = spec.T - spec.window_trim
    return t_in.clamp(max=T_sim), T_sim


def untrim(out: SpikeTimes, spec: LayerSpec) -> SpikeTimes:
    """Map the shortened window's "no spike" T' = T - window_trim back to T."""
    times = out.times
    times = torch.where(times >= spec.T - spec.window_trim, torch.full_like(times, spec.T), times)
    return SpikeTimes(times, out.v_fire, out.v_end)


def float_times(out: SpikeTimes) -> SpikeTimes:
    return SpikeTimes(out.times.to(torch.float32), out.v_fire, out.v_end)


class BackendBase:
    """What the backends share: one object per backend, copied and pickled by name, and no
    whole-net paths (``net_forward`` and ``predict_early_exit`` None: ``SpikingNet`` runs
    the layers one by one)."""

    name: str

    def __reduce__(self) -> tuple[Any, tuple[str]]:
        return _by_name, (self.name,)

    def __repr__(self) -> str:
        return f"<{self.name} backend>"

    def net_forward(
        self, t_in: torch.Tensor, weights: Sequence[torch.Tensor],
        thresholds: Sequence[torch.Tensor], specs: Sequence[LayerSpec],
        keep: Sequence[torch.Tensor | None],
    ) -> list[torch.Tensor] | None:
        return None

    def predict_early_exit(
        self, t_in: torch.Tensor, weights: Sequence[torch.Tensor],
        thresholds: Sequence[torch.Tensor], specs: Sequence[LayerSpec], fallback: str,
    ) -> tuple[torch.Tensor, torch.Tensor] | None:
        return None


def _by_name(name: str) -> Backend:
    from bstdg.snn.backends import backend_by_name

    return backend_by_name(name)


class TensorBackend(BackendBase):
    """A backend made of two plain functions of spike times: ``simulate(t_in, w_hat, theta,
    T, delay) -> SpikeTimes`` and ``pair_grads(t_in, t_out, g, w_back, kernel, T) -> (dL/dW,
    dL/dt_in)``. The forward weights are materialised (sign(W) when binary); the backward
    keeps nothing but the latent weight."""

    checks_times = False

    def __init__(self, name: str, simulate: Callable[..., SpikeTimes],
                 pair_grads: Callable[..., tuple[torch.Tensor, torch.Tensor | None]]) -> None:
        self.name = name
        self.simulate = simulate
        self.pair_grads = pair_grads

    def forward(
        self, t_in: torch.Tensor, weight: torch.Tensor, theta: torch.Tensor, spec: LayerSpec,
        keep: bool,
    ) -> tuple[SpikeTimes, Any]:
        w_hat = binarize(weight) if spec.binary else weight
        if spec.window_trim:
            t_sim, T_sim = trim_window(t_in, spec)
            out = untrim(self.simulate(t_sim, w_hat, theta, T_sim, spec.delay), spec)
        else:
            out = self.simulate(t_in, w_hat, theta, spec.T, spec.delay)
        return float_times(out), (weight if keep else None)

    def grads(
        self, saved: Any, t_in: torch.Tensor, t_out: torch.Tensor, g: torch.Tensor,
        w_back: torch.Tensor | None, kernel: KernelSpec, spec: LayerSpec,
        need_t_in: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        w = saved if w_back is None else w_back
        return self.pair_grads(t_in, t_out, g, w, kernel, spec.T)
