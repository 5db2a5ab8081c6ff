"""The spike-timing-dependent gradient family, as options of one layer (docs/method.md).

For a layer with input times t_i, output times t_j and upstream gradient G = dL/dt_out:

1. optional per-sample L2 normalisation, averaged over the batch:
   g_b = G_b / (||G_b||_2 + eps) / B  (a sample with G_b = 0 stays 0, so eps = 0 is the
   S4NN/BS4NN "normalise unless the norm is 0");
2. ``linear_relpsp`` divides g_j by the causal weight sum sum_{i in C_j} w_ji (STDBP);
3. dL/dw_ji     = -kappa(t_j - t_i) g_j   on causal pairs m_ji = [t_i < t_j]
                  (optional anti-causal term -B exp(-|delta|/tau) for the exp kernel);
4. dL/dtheta_j  = +threshold_grad_scale g_j   (dt/dV ~ -1 and dV/dtheta = -1);
5. dL/dt_i      = sum_j g_j w~_ji m_ji with w~ the latent weight (BS4NN), alpha sign(w)
                  (strict straight-through, alpha = mean|w|) or sign(w). With
                  ``backprop_lookahead`` = eta > 0, w~ comes from W - eta dL/dW, the weights
                  after a plain SGD step of rate eta (S4NN and BS4NN compute the hidden error
                  after the output layer's update);
6. ``silent_input_grad``: an input that did not spike (t_i = T) gets
   dL/dt_i = sum_j g_j w~_ji, the error it would carry were it causal to every neuron,
   so a silent hidden neuron is pulled back by its useful outgoing weights (the causal
   mask alone gives it no gradient, ever: docs/method.md, "Dead neurons and spike dropout").

Kernels kappa(delta), delta = t_j - t_i >= 0: ``const`` A (the default: S4NN, BS4NN, SSTDP as
released, BSTDG), ``exp`` A exp(-delta / tau) (temporal locality), ``linear_relpsp`` A delta
(before the 1 / sum w scaling of step 2).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import torch

KERNELS = ("const", "exp", "linear_relpsp")
BACKPROP_WEIGHTS = ("latent", "binary_scaled", "binary")
# Valid ranges of the numeric options, for the messages.
_RANGES = {
    "tau": "> 0 time steps, or null for tau_fraction * T (exp kernel)",
    "tau_fraction": "> 0",
    "A": "the kernel amplitude, e.g. 1.0",
    "B": "0 = no anti-causal term",
    "threshold_grad_scale": "e.g. 1.0",
    "eps": ">= 0",
    "backprop_lookahead": ">= 0, 0 = off",
}


@dataclass(frozen=True)
class KernelSpec:
    """A kernel resolved for one window length T (tau is a number here)."""

    kind: str
    A: float
    B: float
    tau: float
    inclusive: bool

    @property
    def anti_causal(self) -> bool:
        return self.kind == "exp" and self.B != 0.0

    def kappa(self, delta: torch.Tensor) -> torch.Tensor:
        """kappa(delta) for delta = t_j - t_i (only used on causal pairs)."""
        if self.kind == "const":
            return torch.full_like(delta, self.A)
        if self.kind == "exp":
            return self.A * torch.exp(-delta / self.tau)
        return self.A * delta

    def pair_weight(self, delta: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """The pair rule, written once for every backend: (weight, causal) of a pair of a
        *spiking* input i and an output j with delta = t_j - t_i (any shape, float).

        causal = [delta > 0], or [delta >= 0] when ``inclusive``; weight = kappa(delta) on
        causal pairs, plus the anti-causal term -B exp(delta / tau) where delta < 0 (exp
        kernel with B != 0), 0 elsewhere. dL/dw_ji = -weight g_j and dL/dt_i = sum_j causal
        g_j w_ji; a silent input (t_i = T) is no pair at all, which the caller masks.
        """
        causal = (delta > 0) | (self.inclusive & (delta == 0))
        weight = torch.where(causal, self.kappa(delta), torch.zeros_like(delta))
        if self.anti_causal:
            weight = weight + torch.where(delta < 0, -self.B * torch.exp(delta / self.tau), 0.0)
        return weight, causal

    def pair_table(self, T: int) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`pair_weight` tabulated for a window of T steps: float64 weight and bool
        causal at index delta + T for delta = -T .. T (every t_j - t_i of a spiking input,
        t_i <= T - 1, and an output time t_j <= T)."""
        return self.pair_weight(torch.arange(-T, T + 1, dtype=torch.float64))


@dataclass(frozen=True)
class GradientRule:
    """Options of the spike-timing-dependent gradient (see the module docstring).

    The defaults are what every preset shares (the const kernel; ``conf/model/net/*.yaml``
    list only what differs). ``tau`` (exp kernel) is in time steps; ``None`` means
    ``tau_fraction * T`` (T / 2 by default, docs/method.md).
    ``causal_inclusive`` counts t_i == t_j as causal (SSTDP, which uses delay 0).
    ``silent_input_grad`` passes error to silent inputs (step 6 of the module docstring).
    ``backprop_lookahead`` (>= 0) propagates the error through W - lookahead * dL/dW, the
    weights after a plain SGD step at that rate (step 5; 0 = off). ``eps`` (>= 0) is added
    to the per-sample norm; with 0 the norm itself divides (zero errors stay zero).
    """

    kernel: str = "const"
    tau: float | None = None
    tau_fraction: float = 0.5
    A: float = 1.0
    B: float = 0.0
    normalize: bool = True
    backprop_weights: str = "latent"
    causal_inclusive: bool = False
    threshold_grad_scale: float = 1.0
    silent_input_grad: bool = False
    eps: float = 1e-10
    backprop_lookahead: float = 0.0

    def __post_init__(self) -> None:
        for name in ("tau_fraction", "A", "B", "threshold_grad_scale", "eps",
                     "backprop_lookahead", *(("tau",) if self.tau is not None else ())):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(
                float(value)
            ):
                raise ValueError(
                    f"rule.{name} must be a finite number ({_RANGES[name]}), got {value!r}"
                )
        if self.kernel not in KERNELS:
            raise ValueError(f"unknown kernel {self.kernel!r}; valid: {', '.join(KERNELS)}")
        if self.backprop_weights not in BACKPROP_WEIGHTS:
            raise ValueError(
                f"unknown backprop_weights {self.backprop_weights!r}; "
                f"valid: {', '.join(BACKPROP_WEIGHTS)}"
            )
        if self.tau is not None and self.tau <= 0:
            raise ValueError(
                f"tau must be > 0 time steps (or null for tau_fraction * T), got {self.tau}"
            )
        if self.tau_fraction <= 0:
            raise ValueError(f"tau_fraction must be > 0, got {self.tau_fraction}")
        if self.eps < 0:
            raise ValueError(f"eps must be >= 0, got {self.eps}")
        if self.backprop_lookahead < 0:
            raise ValueError(
                f"backprop_lookahead must be >= 0 (an SGD learning rate, 0 = off), "
                f"got {self.backprop_lookahead}"
            )
        if self.B and self.kernel != "exp":
            raise ValueError("the anti-causal term B applies to the exp kernel only; set B: 0")

    def kernel_spec(self, T: int) -> KernelSpec:
        tau = float(self.tau) if self.tau is not None else self.tau_fraction * T
        return KernelSpec(self.kernel, float(self.A), float(self.B), tau, self.causal_inclusive)

    def backprop_matrix(self, weight: torch.Tensor, binary: bool) -> torch.Tensor:
        """The weights w~ through which the error reaches the layer below."""
        if not binary or self.backprop_weights == "latent":
            return weight
        sign = torch.where(weight >= 0, 1.0, -1.0).to(weight.dtype)
        if self.backprop_weights == "binary":
            return sign
        return weight.abs().mean() * sign

    def upstream(self, grad_t_out: torch.Tensor, v_fire: torch.Tensor) -> torch.Tensor:
        """Steps 1-2: g from dL/dt_out (per-sample normalisation, batch mean, relpsp scale)."""
        g = grad_t_out.float()
        if self.normalize:
            norm = g.norm(dim=1, keepdim=True)
            norm = torch.where(norm > 0, norm + self.eps, torch.ones_like(norm))
            g = g / norm / g.shape[0]
        if self.kernel == "linear_relpsp":
            g = g / v_fire.abs().clamp(min=1.0)
        return g

    def silent_input_grad_(self, grad_t_in: torch.Tensor, t_in: torch.Tensor, g: torch.Tensor,
                           weight: torch.Tensor, binary: bool, T: int) -> torch.Tensor:
        """Step 6: add sum_j g_j w~_ji to dL/dt_i of the inputs with t_i = T (in place)."""
        silent = t_in >= T
        if bool(silent.any()):
            full = g @ self.backprop_matrix(weight, binary).to(g.dtype)
            grad_t_in += torch.where(silent, full, torch.zeros_like(full))
        return grad_t_in

    def threshold_grad(self, g: torch.Tensor, shape: torch.Size) -> torch.Tensor:
        """Step 4: dL/dtheta summed over the batch, reduced to the threshold's shape."""
        per_neuron = self.threshold_grad_scale * g.sum(0)
        if shape.numel() == 1:
            return per_neuron.sum().reshape(shape)
        return per_neuron.reshape(shape)

