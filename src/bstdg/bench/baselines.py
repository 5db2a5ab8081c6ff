"""Baselines the BSTDG net is compared with, in plain torch.

* :func:`make_ann` -- the same-shape ANN (Linear-ReLU-Linear).
* :class:`ClockDrivenNet` -- the same binarized single-spike IF network simulated the way the
  reference papers' code does it (S4NN / BS4NN): for every time step t = 0..T-1 the membrane
  potential of every neuron is updated from the input spikes at t with dense (B, N) ops, all
  T steps, no early exit; the dense input spike raster (T, B, N_in) of every layer is stored
  and the S4NN-style spike-timing gradient (the same :class:`~bstdg.snn.rules.GradientRule`)
  is computed from it step by step in the backward pass.
* :class:`BPTTNet` -- a same-shape LIF network unrolled over T with a fast-sigmoid surrogate
  gradient, fed the dense latency spike raster, CE loss on output spike counts (the snntorch
  tutorial approach; snntorch itself is not a dependency).
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from bstdg.snn.autograd import LayerSpec
from bstdg.snn.layers import NetOutput, SpikingNet
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import SpikeTimes, binarize, threshold_vector


def make_ann(n_inputs: int = 784, hidden: int = 400, n_classes: int = 10) -> nn.Module:
    """Linear-ReLU-Linear of the same shape as the spiking net."""
    return nn.Sequential(nn.Linear(n_inputs, hidden), nn.ReLU(), nn.Linear(hidden, n_classes))


# --------------------------------------------------------------------------- clock-driven


def dense_raster(t_in: torch.Tensor, T: int, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """S[t, b, i] = [t_i == t] for t = 0..T-1 (inputs at T never spike): (T, B, N)."""
    steps = torch.arange(T, device=t_in.device)[:, None, None]
    return (t_in.long()[None] == steps).to(dtype)


def clock_forward(
    t_in: torch.Tensor,
    w_hat: torch.Tensor,
    theta: torch.Tensor | float,
    T: int,
    delay: int = 1,
    dtype: torch.dtype = torch.float32,
) -> tuple[SpikeTimes, torch.Tensor]:
    """Clock-driven single-spike IF layer; returns (SpikeTimes, dense input raster).

    Same semantics as ``bstdg.snn.reference.forward_reference``:
    V_j(k) = sum_i w_ji [t_i <= k], t_j = min{k + d : V_j(k) > theta_j, k + d <= T - 1}, else T.
    Every step k = 0..T-1 does a dense (B, N_in) x (N_in, N_out) update and a threshold test
    of every neuron (fired or not); nothing exits early.
    """
    batch, n_out = t_in.shape[0], w_hat.shape[0]
    device = t_in.device
    w_t = w_hat.detach().to(dtype).t().contiguous()
    theta_v = threshold_vector(theta, n_out, w_hat).to(device=device, dtype=dtype)
    raster = dense_raster(t_in, T, dtype)
    potential = torch.zeros(batch, n_out, dtype=dtype, device=device)
    times = torch.full((batch, n_out), T, dtype=torch.long, device=device)
    v_fire = torch.zeros(batch, n_out, dtype=dtype, device=device)
    fired = torch.zeros(batch, n_out, dtype=torch.bool, device=device)
    new = torch.empty_like(fired)
    for step in range(T):
        potential.addmm_(raster[step], w_t)
        if step + delay <= T - 1:
            torch.gt(potential, theta_v, out=new)
            new &= ~fired
            times.masked_fill_(new, step + delay)
            torch.where(new, potential, v_fire, out=v_fire)
            fired |= new
    v_fire = torch.where(fired, v_fire, potential)
    return SpikeTimes(times, v_fire.float(), potential.float()), raster


def clock_grads(
    raster: torch.Tensor,
    t_out: torch.Tensor,
    g: torch.Tensor,
    w_back: torch.Tensor,
    spec: KernelSpec,
    T: int,
    need_t_in: bool = True,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """(dL/dW, dL/dt_in) of the spike-timing gradient, one dense step at a time.

    For every step t: dW -= (kappa(t_out - t) * g)^T S_t and
    dL/dt_in += S_t * ((causal(t_out - t) * g) @ w_back) -- the rule of ``grads_reference``
    evaluated on the stored dense raster S (T, B, N_in) instead of on the spike times.
    dL/dt_in is skipped (None) when not ``need_t_in`` (the input layer).
    """
    _, batch, n_in = raster.shape
    dtype = raster.dtype
    t_out = t_out.to(dtype)
    g = g.to(dtype)
    w_back = w_back.to(dtype)
    grad_w = torch.zeros(t_out.shape[1], n_in, dtype=dtype, device=raster.device)
    grad_t_in = torch.zeros(batch, n_in, dtype=dtype, device=raster.device) if need_t_in else None
    for step in range(T):
        delta = t_out - step
        causal = (delta > 0) | (spec.inclusive & (delta == 0))
        kappa = torch.where(causal, spec.kappa(delta), torch.zeros_like(delta))
        if spec.anti_causal:
            kappa = kappa + torch.where(delta < 0, -spec.B * torch.exp(delta / spec.tau), 0.0)
        s = raster[step]
        grad_w.addmm_((kappa * g).t(), s, alpha=-1.0)
        if grad_t_in is not None:
            grad_t_in.addcmul_(s, (causal.to(dtype) * g) @ w_back)
    return grad_w.float(), None if grad_t_in is None else grad_t_in.float()


class ClockDrivenFunction(torch.autograd.Function):
    """Same contract as ``bstdg.snn.autograd.SpikeTimingFunction``, clock-driven inside."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any, t_in: torch.Tensor, weight: torch.Tensor, threshold: torch.Tensor,
        spec: LayerSpec,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        w_hat = binarize(weight) if spec.binary else weight
        out, raster = clock_forward(t_in.detach(), w_hat.detach(), threshold.detach(), spec.T,
                                    spec.delay)
        t_out = out.times.to(torch.float32)
        ctx.spec = spec
        ctx.threshold_shape = threshold.shape
        ctx.save_for_backward(raster, t_out, weight.detach(), out.v_fire)
        ctx.mark_non_differentiable(out.v_fire, out.v_end)
        return t_out, out.v_fire, out.v_end

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, grad_t_out: torch.Tensor, _gv: torch.Tensor, _ge: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None]:
        raster, t_out, weight, v_fire = ctx.saved_tensors
        spec: LayerSpec = ctx.spec
        rule = spec.rule
        g = grad_t_out.float()
        if rule.normalize:
            g = g / (g.norm(dim=1, keepdim=True) + rule.eps) / g.shape[0]
        if rule.kernel == "linear_relpsp":
            g = g / v_fire.abs().clamp(min=1.0)
        need_t, need_w, need_theta = ctx.needs_input_grad[:3]
        w_back = rule.backprop_matrix(weight, spec.binary)
        grad_w, grad_t_in = clock_grads(raster, t_out, g, w_back, rule.kernel_spec(spec.T),
                                        spec.T, need_t_in=need_t)
        per_neuron = rule.threshold_grad_scale * g.sum(0)
        shape = ctx.threshold_shape
        grad_theta = (per_neuron.sum().reshape(shape) if shape.numel() == 1
                      else per_neuron.reshape(shape))
        return (grad_t_in if need_t else None, grad_w.to(weight.dtype) if need_w else None,
                grad_theta if need_theta else None, None)


class ClockDrivenNet(nn.Module):
    """The parameters and settings of a :class:`SpikingNet`, simulated clock-driven."""

    def __init__(self, net: SpikingNet) -> None:
        super().__init__()
        self.net = net
        self.T = net.T

    def forward(self, t_in: torch.Tensor) -> NetOutput:
        times: list[torch.Tensor] = []
        t = t_in.float()
        v_fire = v_end = t
        for layer in self.net.layers:
            t, v_fire, v_end = ClockDrivenFunction.apply(t, layer.weight, layer.threshold,
                                                         layer.spec)
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
