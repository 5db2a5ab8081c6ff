"""Thin ``nn.Module`` wrappers: a single-spike IF layer and a stack of them.

Modules hold parameters only; nothing is carried from one call to the next.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import torch
from torch import nn

from bstdg.snn.autograd import spike_timing_layer
from bstdg.snn.backends import Backend, check_backend_name, get_backend
from bstdg.snn.backends.base import check_layer_inputs
from bstdg.snn.readout import FALLBACKS, decide, decision_time
from bstdg.snn.rules import GradientRule
from bstdg.snn.spec import LayerSpec, is_integer
from bstdg.snn.spikes import binarize, check_batch_shape, check_times

THRESHOLD_MODES = ("fixed", "per_layer", "per_neuron", "bs4nn_fact")


def _finite(value: object) -> bool:
    """Whether ``value`` is a real, finite number (bools excluded)."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and math.isfinite(float(value)))


def _check_finite_number(name: str, value: object, example: str) -> None:
    if not _finite(value):
        raise ValueError(f"{name} must be a finite number ({example}), got {value!r}")


def _layer_spec(spec: LayerSpec | None, **fields: object) -> LayerSpec:
    """``spec``, or the spec that ``fields`` (T, delay, binary, rule, window_trim; None:
    LayerSpec's default) describe; not both."""
    given = {name: value for name, value in fields.items() if value is not None}
    if spec is None:
        if "T" not in given:
            raise ValueError("a layer needs its spec, or T (with delay, binary, rule and "
                             "window_trim, or their defaults)")
        return LayerSpec(**given)  # type: ignore[arg-type]
    if given:
        raise ValueError(f"give the layer's spec or {', '.join(given)}, not both")
    return spec


class SpikingLinear(nn.Module):
    """Fully connected single-spike IF layer with real latent weights.

    The layer's :class:`~bstdg.snn.spec.LayerSpec` (window, delay, weight kind, rule) is
    ``spec``, or, for a layer built on its own, the one that ``T``, ``delay``, ``binary``,
    ``rule`` and ``window_trim`` describe (None: LayerSpec's default).
    Forward weights are sign(W) (sign(0) = +1) when ``spec.binary`` else W. The threshold is
    fixed (a buffer) or trained per layer / per neuron and clamped at ``threshold_min``
    by :meth:`constrain_`. ``latent_clip`` bounds |W| (BinaryConnect-style) when set.

    ``threshold_mode="bs4nn_fact"`` is BS4NN's per-layer scale: theta = thr / fact with
    thr = threshold_init * fact_init (BS4NN: 20 * 5 = 100), ``fact`` a float64 buffer that
    the optimiser never sees, moved after each optimiser step by :meth:`update_fact_` at
    rate ``fact_lr``, without clamp.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        T: int | None = None,
        binary: bool | None = None,
        threshold_mode: str = "per_neuron",
        threshold_init: float = 10.0,
        threshold_min: float = 1.0,
        delay: int | None = None,
        rule: GradientRule | None = None,
        init_range: Sequence[float] = (-2.5, 2.5),
        latent_clip: float | None = None,
        backend: str = "auto",
        *,
        fact_init: float = 5.0,
        fact_lr: float = 0.01,
        window_trim: int | None = None,
        spec: LayerSpec | None = None,
    ) -> None:
        super().__init__()
        if in_features < 1 or out_features < 1:
            raise ValueError(f"layer sizes must be >= 1, got {in_features} -> {out_features}")
        self.spec = _layer_spec(spec, T=T, delay=delay, binary=binary, rule=rule,
                                window_trim=window_trim)
        _check_finite_number("threshold_init", threshold_init, "a firing threshold, e.g. 10.0")
        _check_finite_number("threshold_min", threshold_min, "e.g. 1.0")
        if threshold_mode not in THRESHOLD_MODES:
            raise ValueError(
                f"unknown threshold_mode {threshold_mode!r}; valid: {', '.join(THRESHOLD_MODES)}"
            )
        check_backend_name(backend)
        if (len(init_range) != 2 or not all(_finite(v) for v in init_range)
                or not init_range[0] < init_range[1]):
            raise ValueError(
                f"init_range must be [low, high] with low < high, both finite, got "
                f"{list(init_range)}"
            )
        if latent_clip is not None and not (_finite(latent_clip) and latent_clip > 0):
            raise ValueError(f"latent_clip must be > 0 (finite) or null, got {latent_clip}")
        if threshold_mode == "bs4nn_fact" and not (_finite(fact_init) and fact_init > 0):
            raise ValueError(
                f"fact_init must be > 0 and finite (theta = thr / fact), got {fact_init}"
            )
        if not (_finite(fact_lr) and fact_lr >= 0):
            raise ValueError(f"fact_lr must be >= 0 and finite, got {fact_lr}")
        self.in_features, self.out_features = in_features, out_features
        self.threshold_mode = threshold_mode
        self.threshold_min = threshold_min
        self.latent_clip = latent_clip
        self.backend = backend
        self._backend: tuple[str, Backend] | None = None  # (device type, its backend)
        # Shape (N_out, N_in), stored transposed (strides (1, N_out)): the event-driven kernel
        # adds one input's row of weights at a time and reads/writes this memory directly.
        self.weight = nn.Parameter(
            torch.empty(in_features, out_features).uniform_(*init_range).t()
        )
        self.init_range = tuple(init_range)
        shape = (out_features,) if threshold_mode == "per_neuron" else (1,)
        self.threshold_init = float(threshold_init)
        theta = torch.full(shape, self.threshold_init)
        self.fact_lr = float(fact_lr)
        if threshold_mode == "bs4nn_fact":
            # thr = theta0 * fact0 exactly (20 * 5 = 100); theta is a buffer derived from fact
            self.fact_thr = self.threshold_init * float(fact_init)
            self.register_buffer("fact", torch.tensor([float(fact_init)], dtype=torch.float64))
            self.register_buffer("threshold", (self.fact_thr / self.fact).float())
        elif threshold_mode == "fixed":
            self.register_buffer("threshold", theta)
        else:
            self.threshold = nn.Parameter(theta)

    def forward(
        self, t_in: torch.Tensor, checked: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(B, N_in) spike times -> (times, v_fire, v_end), each (B, N_out).

        Spike times must be integer-valued in [0, T] and the weights and thresholds finite
        (refused otherwise, on every backend); ``checked`` skips the time check for inputs
        that come from another layer (valid by construction)."""
        impl = self.backend_for(t_in.device)
        check_layer_inputs(None if checked else t_in, self.weight, self.threshold, self.spec,
                           impl)
        return spike_timing_layer(t_in.float(), self.weight, self.threshold, self.spec, impl)

    def backend_for(self, device: torch.device) -> Backend:
        """The backend that runs ``self.backend`` on ``device``, resolved once per device
        type the layer runs on (``auto`` is numba on CPU, torch on CUDA)."""
        if self._backend is None or self._backend[0] != device.type:
            self._backend = (device.type, get_backend(self.backend, device))
        return self._backend[1]

    @torch.no_grad()
    def constrain_(self) -> None:
        """Apply the parameter constraints after an optimiser step."""
        if isinstance(self.threshold, nn.Parameter):
            self.threshold.clamp_(min=self.threshold_min)
        if self.latent_clip is not None:
            self.weight.clamp_(-self.latent_clip, self.latent_clip)

    @torch.no_grad()
    def update_fact_(self) -> None:
        """BS4NN's scale rule, applied after the optimiser step (``bs4nn_fact`` mode only):

            fact -= fact_lr * mean_{j,i}( dL/dw_ji * sign(w_ji) ),   theta = thr / fact,

        with the *updated* signs and no clamp. dL/dw_ji is the weight's gradient of this step
        (``weight.grad``, left in place by the optimiser), i.e. the batch mean of
        delta_j [t_i < t_j] for the const kernel: BS4NN's ``mean(delta * HF * sign(W))`` at
        batch 1, with delta the layer's normalised error. sign(0) = 0 here, as in the
        notebook (the forward uses +1). Without a gradient nothing moves.
        """
        grad = self.weight.grad
        if self.threshold_mode != "bs4nn_fact" or grad is None:
            return
        weight = self.weight.detach()
        total = (grad * weight.sign()).sum(dtype=torch.float64)  # float64 sum, as the notebook
        self.fact -= self.fact_lr * total / weight.numel()
        self.threshold.copy_((self.fact_thr / self.fact).to(self.threshold.dtype))

    @torch.no_grad()
    def fan_out(self) -> torch.Tensor:
        """(N_in,) synapses each input drives: its non-zero forward weights (all N_out for
        binary weights, sign(0) = +1)."""
        if self.spec.binary:
            return torch.full((self.in_features,), self.out_features, device=self.weight.device)
        return (self.weight != 0).sum(0)

    @torch.no_grad()
    def potential_at(self, t_in: torch.Tensor, step: int) -> torch.Tensor:
        """V_j(step) = sum_i w_hat_ji [t_i <= step] (B, N_out), float64 sums, float32 out."""
        w_hat = binarize(self.weight) if self.spec.binary else self.weight
        spiked = t_in <= step
        return (spiked.to(torch.float64) @ w_hat.detach().to(torch.float64).T).float()

    @torch.no_grad()
    def draw_incoming(self, count: int) -> torch.Tensor:
        """``count`` fresh rows of incoming weights (count, N_in), from U[init_range] with
        torch's generator, as the layer was initialised."""
        fresh = torch.empty(count, self.in_features, device=self.weight.device)
        return fresh.uniform_(*self.init_range).to(self.weight.dtype)

    @torch.no_grad()
    def reinit_neurons_(self, mask: torch.Tensor) -> int:
        """Re-draw the incoming weights of the neurons in ``mask`` (dead-neuron reset)."""
        count = int(mask.sum())
        if count:
            self.weight[mask] = self.draw_incoming(count)
        return count

    def extra_repr(self) -> str:
        s = self.spec
        return (
            f"{self.in_features} -> {self.out_features}, T={s.T}, binary={s.binary}, "
            f"threshold={self.threshold_mode}, delay={s.delay}, kernel={s.rule.kernel}"
            + (f", window_trim={s.window_trim}" if s.window_trim else "")
        )


class NetOutput(NamedTuple):
    """Spike times of every layer (last = output) and the output layer's potentials."""

    times: list[torch.Tensor]
    v_fire: torch.Tensor
    v_end: torch.Tensor

    @property
    def out_times(self) -> torch.Tensor:
        return self.times[-1]

    @property
    def hidden_times(self) -> list[torch.Tensor]:
        return self.times[:-1]


def _per_layer(value: float | Sequence[float] | None, n_layers: int, name: str) -> list:
    if value is None or isinstance(value, (int, float)):
        return [value] * n_layers
    values = list(value)
    if len(values) != n_layers:
        raise ValueError(f"{name} needs one entry per layer ({n_layers}), got {values}")
    return values


def _passed(t: torch.Tensor, keep: torch.Tensor | None, T: int) -> torch.Tensor:
    """The spikes ``keep`` lets through to the next layer, the others silenced (t := T)."""
    return t if keep is None else torch.where(keep, t, torch.full_like(t, T))


class SpikingNet(nn.Module):
    """A stack of :class:`SpikingLinear` layers: n_inputs -> hidden... -> n_classes.

    ``T``, ``delay``, ``binary``, ``rule`` and ``window_trim`` make the one
    :class:`~bstdg.snn.spec.LayerSpec` of every layer (``spec``); ``fact_init`` /
    ``fact_lr`` / ``latent_clip`` (one value or one per layer) go to every layer (see
    :class:`SpikingLinear`). ``fallback_offset`` k
    makes ``NetOutput.v_end`` the output potentials V(T - k), which decide a sample with no
    output spike (fallback ``max_potential``): 1 is the window end, S4NN and BS4NN read
    V(T - 3).
    ``hidden_dropout`` p silences each hidden spike with probability p in training mode
    (t_j := T for the next layer, so a dropped neuron also gets no error; ``NetOutput.times``
    keeps the layer's own spikes, which the firing statistics count); ``input_dropout`` p
    does the same to the input spikes. Evaluation sees every spike, unscaled (a spike has no
    amplitude to rescale).

    ``fused`` lets the backend run the whole net as one autograd Function when it can (the
    numba backend on one thread: ``bstdg.snn.backends.numba.net``): the same spike times,
    gradients equal to float rounding, one kernel launch per pass instead of one per layer.
    The rounding differs (the per-sample norm and the threshold gradient are summed in
    float64 there), so a long training run drifts apart from the layer path's as it would
    on another thread count; False always runs the layers one by one, as before. The fused
    path leaves the hidden times' ``.grad`` unset (their error stays inside the kernel), its
    backward is not differentiable again (``create_graph=True`` gives the first-order
    gradients as constants), and with ``eps=0`` a sample whose error norm underflows torch's
    float32 norm (below about 1e-19) is scaled to unit norm there. Layers whose specs differ
    (delay, weights, rule) always run one by one.
    """

    def __init__(
        self,
        n_inputs: int,
        n_classes: int,
        T: int,
        hidden: Sequence[int] = (600,),
        binary: bool = True,
        threshold_mode: str = "per_neuron",
        threshold_init: float | Sequence[float] = (10.0, 5.0),
        threshold_min: float = 1.0,
        delay: int = 1,
        rule: GradientRule | Mapping | None = None,
        init_range: Sequence[float] | Sequence[Sequence[float]] = ((-2.5, 2.5), (-24.0, 24.0)),
        latent_clip: float | Sequence[float | None] | None = None,
        backend: str = "auto",
        fact_init: float | Sequence[float] = 5.0,
        fact_lr: float | Sequence[float] = 0.01,
        window_trim: int = 0,
        fallback_offset: int = 1,
        hidden_dropout: float = 0.0,
        input_dropout: float = 0.0,
        fused: bool = True,
    ) -> None:
        super().__init__()
        self.fused = bool(fused)
        for name, p, what in (("hidden_dropout", hidden_dropout, "a hidden"),
                              ("input_dropout", input_dropout, "an input")):
            if not 0.0 <= p < 1.0:
                raise ValueError(f"{name} must be in [0, 1) (the probability of silencing "
                                 f"{what} spike in training), got {p}")
        self.hidden_dropout = float(hidden_dropout)
        self.input_dropout = float(input_dropout)
        rule = rule if isinstance(rule, GradientRule) else GradientRule(**dict(rule or {}))
        spec = LayerSpec(T, delay, binary, rule, window_trim)
        if not 1 <= fallback_offset <= spec.T:
            raise ValueError(
                f"fallback_offset must be in [1, T] = [1, {T}] (V(T - k) decides a sample "
                f"with no output spike), got {fallback_offset}"
            )
        if isinstance(hidden, (str, bytes)) or not isinstance(hidden, Sequence) or not all(
            is_integer(h) and h >= 1 for h in hidden
        ):
            raise ValueError(
                f"hidden must be a list of positive layer sizes, e.g. [600] (or [] for no "
                f"hidden layer), got {hidden!r}"
            )
        sizes = [int(n_inputs), *[int(h) for h in hidden], int(n_classes)]
        n_layers = len(sizes) - 1
        ranges = list(init_range)
        if ranges and isinstance(ranges[0], (int, float)):
            ranges = [ranges] * n_layers
        ranges = _per_layer(ranges, n_layers, "init_range")
        thetas = _per_layer(threshold_init, n_layers, "threshold_init")
        facts = _per_layer(fact_init, n_layers, "fact_init")
        fact_lrs = _per_layer(fact_lr, n_layers, "fact_lr")
        clips = _per_layer(latent_clip, n_layers, "latent_clip")
        self.sizes = sizes
        self.fallback_offset = int(fallback_offset)
        self.layers = nn.ModuleList(
            SpikingLinear(
                sizes[k],
                sizes[k + 1],
                threshold_mode=threshold_mode,
                threshold_init=thetas[k],
                threshold_min=threshold_min,
                init_range=ranges[k],
                latent_clip=clips[k],
                backend=backend,
                fact_init=facts[k],
                fact_lr=fact_lrs[k],
                spec=spec,
            )
            for k in range(n_layers)
        )

    @property
    def T(self) -> int:
        """The window length of the layers' spec."""
        return self.layers[0].spec.T

    def fan_outs(self) -> list[torch.Tensor]:
        """Per layer, the synapses each of its inputs drives (:meth:`SpikingLinear.fan_out`)."""
        return [layer.fan_out() for layer in self.layers]

    def by_layer(self) -> tuple[list[torch.Tensor], list[torch.Tensor], list[LayerSpec]]:
        """The weights, thresholds and specs of the layers: what a backend's whole-net paths
        take."""
        return ([layer.weight for layer in self.layers],
                [layer.threshold for layer in self.layers],
                [layer.spec for layer in self.layers])

    @torch.no_grad()
    def revive_neurons_(
        self, k: int, mask: torch.Tensor
    ) -> list[tuple[torch.Tensor, tuple[slice | torch.Tensor, ...]]]:
        """Revive the neurons ``mask`` of hidden layer ``k`` (0-based) as fresh units.

        Their incoming weights are re-drawn from the layer's init range, their thresholds
        (per-neuron mode) reset to the initial value, and their outgoing latent weights in
        layer ``k + 1`` set to 0 (forward weight sign(0) = +1: the same vote for every next
        neuron), so a revived unit starts from a blank slate instead of a random vote.
        Returns the (parameter, index) pairs changed, whose optimiser state the caller clears.
        """
        if not 0 <= k < len(self.layers) - 1:
            raise ValueError(f"layer {k} is not a hidden layer (0..{len(self.layers) - 2})")
        layer, above = self.layers[k], self.layers[k + 1]
        mask = mask.to(device=layer.weight.device, dtype=torch.bool)
        if not bool(mask.any()):
            return []
        layer.reinit_neurons_(mask)
        touched: list[tuple[torch.Tensor, tuple[slice | torch.Tensor, ...]]] = [
            (layer.weight, (mask,))
        ]
        if layer.threshold_mode == "per_neuron":
            layer.threshold[mask] = layer.threshold_init
            touched.append((layer.threshold, (mask,)))
        above.weight[:, mask] = 0.0
        touched.append((above.weight, (slice(None), mask)))
        return touched

    def _dropped(self, t: torch.Tensor, p: float) -> torch.Tensor:
        """t with each spike silenced (t := T) with probability p in training mode."""
        if not self.training or p == 0:
            return t
        return torch.where(torch.rand(t.shape, device=t.device) < p, torch.full_like(t, self.T), t)

    def _hidden_keep(self, batch: int, device: torch.device) -> list[torch.Tensor | None]:
        """Per hidden layer, the spikes that reach the next layer (each silenced with
        probability ``hidden_dropout`` in training mode), or None for all of them."""
        if not self.training or self.hidden_dropout == 0:
            return [None] * (len(self.layers) - 1)
        return [torch.rand(batch, layer.weight.shape[0], device=device) >= self.hidden_dropout
                for layer in self.layers[:-1]]

    def forward(self, t_in: torch.Tensor) -> NetOutput:
        # the input times are checked once: at the first layer, or here before a dropout
        # could hide a bad one
        check_batch_shape(t_in)  # before the dropout masks are drawn for its batch
        checked = self.training and self.input_dropout > 0
        if checked:
            check_times(t_in, self.T)
        t = self._dropped(t_in, self.input_dropout)
        keep = self._hidden_keep(t.shape[0], t.device)
        run = self.layers[0].backend_for(t.device).net_forward if self.fused else None
        times = run(t, *self.by_layer(), keep) if run is not None else None
        if times is None:  # the backend runs the net layer by layer
            times = self._layer_by_layer(t, keep, checked)
        *times, v_fire, v_end = times
        out = self.layers[-1]
        if self.fallback_offset != 1 + out.spec.window_trim:  # not the last simulated step
            t_prev = t if len(times) == 1 else _passed(times[-2], keep[-1], self.T)
            v_end = out.potential_at(t_prev.detach(), self.T - self.fallback_offset)
        return NetOutput(times, v_fire, v_end)

    def _layer_by_layer(self, t: torch.Tensor, keep: list[torch.Tensor | None],
                        checked: bool) -> list[torch.Tensor]:
        """(t_1, ..., t_L, v_fire_L, v_end_L), one layer call at a time."""
        times: list[torch.Tensor] = []
        for k, layer in enumerate(self.layers):
            if k:
                t = _passed(t, keep[k - 1], self.T)
            t, v_fire, v_end = layer(t, checked=checked or k > 0)
            times.append(t)  # the layer's own spikes: what the statistics count
        return [*times, v_fire, v_end]

    def constrain_(self) -> None:
        for layer in self.layers:
            layer.constrain_()

    @torch.no_grad()
    def after_optimizer_step_(self) -> None:
        """What follows each optimiser step: BS4NN's scale rule (``bs4nn_fact`` layers, from
        the step's weight gradients and updated signs), then the parameter constraints."""
        for layer in self.layers:
            layer.update_fact_()
        self.constrain_()

    @property
    def has_step_rules(self) -> bool:
        """True when a layer learns outside the optimiser (``bs4nn_fact``), from the weight
        gradients that :meth:`after_optimizer_step_` reads after each step."""
        return any(layer.threshold_mode == "bs4nn_fact" for layer in self.layers)

    @torch.no_grad()
    def predict_early_exit(
        self, t_in: torch.Tensor, fallback: str = "max_potential"
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """(class decisions, decision steps), stopping each sample's simulation at its first
        output spike (early exit), with the decisions of ``decide(self(t_in), ...)``.

        Event-driven across all layers where the backend has such a path
        (``Backend.predict_early_exit``: binarized nets on the CPU fast path, the fallback
        reading the window end); otherwise (real weights, reference/torch backends, CUDA,
        ``fallback_offset`` > 1) the full forward and ``decide``.
        """
        if fallback not in FALLBACKS:
            raise ValueError(f"unknown fallback {fallback!r}; valid: {', '.join(FALLBACKS)}")
        if self.fallback_offset == 1:
            impl = self.layers[0].backend_for(t_in.device)
            early = impl.predict_early_exit(t_in, *self.by_layer(), fallback)
            if early is not None:
                return early
        out = self(t_in)
        pred = decide(out.out_times, out.v_fire, out.v_end, self.T, fallback)
        return pred, decision_time(out.out_times).long()
