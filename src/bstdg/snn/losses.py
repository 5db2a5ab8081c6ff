"""Losses on output spike times (docs/method.md, "Loss"). Targets are detached."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

TARGET_VARIANTS = ("s4nn", "bs4nn", "sstdp")
REDUCTIONS = ("half_sum", "mse")


def _check_target_options(gamma: float, variant: str) -> None:
    if variant not in TARGET_VARIANTS:
        raise ValueError(f"unknown target variant {variant!r}; valid: {', '.join(TARGET_VARIANTS)}")
    if gamma <= 0:
        raise ValueError(f"gamma must be > 0 time steps, got {gamma}")


def _check_reduction(reduction: str) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"unknown reduction {reduction!r}; valid: {', '.join(REDUCTIONS)}")


def relative_targets(
    times: torch.Tensor, labels: torch.Tensor, T: int, gamma: float, variant: str = "s4nn"
) -> torch.Tensor:
    """Relative target times: the label fires first, the others at least gamma later.

    tau = min_k t_k. s4nn/bs4nn: T_k = t_k, except T_k = min(tau + gamma, T) where
    t_k - tau < gamma, and T_label = tau. If no output fires (tau = T): s4nn sets
    T_label = T - gamma (others T), bs4nn sets all targets to T (no error signal).
    sstdp: tau := T - gamma when tau = T; T_k = min(max(t_k, tau + gamma), T), T_label = tau.
    """
    _check_target_options(gamma, variant)
    t = times.detach().float()
    tau = t.min(dim=1, keepdim=True).values
    silent = tau == T
    if variant == "sstdp":
        tau = torch.where(silent, torch.full_like(tau, T - gamma), tau)
        target = torch.clamp(torch.maximum(t, tau + gamma), max=T)
    else:
        push = torch.clamp(tau + gamma, max=T).expand_as(t)
        target = torch.where(t - tau < gamma, push, t)
    target = target.scatter(1, labels[:, None], tau)
    if variant == "s4nn":
        silent_target = torch.full_like(t, float(T)).scatter(1, labels[:, None], float(T - gamma))
        target = torch.where(silent, silent_target, target)
    elif variant == "bs4nn":
        target = torch.where(silent, torch.full_like(t, float(T)), target)
    return target


def relative_target_mse(
    times: torch.Tensor,
    labels: torch.Tensor,
    T: int,
    gamma: float = 3.0,
    variant: str = "s4nn",
    reduction: str = "half_sum",
) -> torch.Tensor:
    """Relative-target squared error. ``half_sum``: L = mean_b 1/2 sum_k ((T_k - t_k) / T)^2
    (S4NN/BS4NN's e_k = (T_k - t_k) / T); ``mse``: L = mean_{b,k} (t_k - T_k)^2, SSTDP's
    ``F.mse_loss``. Per-sample normalised rules see the same direction either way; the scale
    only matters against the rule's ``eps``."""
    _check_reduction(reduction)
    if _numpy_path(times, labels):
        _check_target_options(gamma, variant)
        return _NumpyRelativeTargetMSE.apply(times, labels, T, float(gamma), variant, reduction)
    target = relative_targets(times, labels, T, gamma, variant)
    if reduction == "mse":
        return F.mse_loss(times, target)
    return 0.5 * (((target - times) / T) ** 2).sum(dim=1).mean()


def _numpy_path(times: torch.Tensor, labels: torch.Tensor) -> bool:
    """Whether :func:`relative_target_mse` runs in numpy: float32 times on the CPU, with
    labels in range (others, and out-of-range labels, go to the torch version, which raises
    the error for them)."""
    if times.device.type != "cpu" or times.dtype != torch.float32 or times.dim() != 2:
        return False
    if not times.numel() or labels.device.type != "cpu" or labels.shape != times.shape[:1]:
        return False
    if labels.dtype != torch.int64:
        return False
    lab = labels.numpy()
    return bool(lab.min() >= 0) and bool(lab.max() < times.shape[1])


def relative_targets_numpy(
    t: np.ndarray, labels: np.ndarray, T: int, gamma: float, variant: str = "s4nn"
) -> np.ndarray:
    """:func:`relative_targets` on numpy arrays (float32 times (B, K), int labels (B,)):
    the same targets, value for value (tested against it)."""
    _check_target_options(gamma, variant)
    tau = t.min(axis=1, keepdims=True)
    silent = tau[:, 0] == T
    if variant == "sstdp":
        tau = np.where(tau == T, np.float32(T - gamma), tau)
        target = np.minimum(np.maximum(t, tau + np.float32(gamma)), np.float32(T))
    else:
        push = np.minimum(tau + np.float32(gamma), np.float32(T))
        target = np.where(t - tau < gamma, push, t)
    rows = np.arange(t.shape[0])
    target[rows, labels] = tau[:, 0]
    if variant != "sstdp" and silent.any():
        target[silent] = T
        if variant == "s4nn":
            target[silent, labels[silent]] = T - gamma
    return target


class _NumpyRelativeTargetMSE(torch.autograd.Function):
    """:func:`relative_target_mse` with the targets, the loss and its gradient in numpy.

    The torch version is some 20 operator calls on a (B, K) tensor, forward and backward;
    on the CPU their dispatch cost 9-15 % of a batch-64 MNIST training step (paired runs
    of the ``bstdg-bench`` step), numpy's about a tenth of that. half_sum:
    L = sum (t - T)^2 / (2 B T^2), dL/dt = (t - T) / (B T^2); mse: L = mean (t - T)^2,
    dL/dt = 2 (t - T) / (B K) (the targets T are constants, as in the torch version; with
    ``create_graph`` the gradient is built from ``times`` so that it differentiates again).
    torch.func transforms and torch.compile graphs stop at it."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, times: torch.Tensor, labels: torch.Tensor,
        T: int, gamma: float, variant: str, reduction: str,
    ) -> torch.Tensor:
        t = times.detach().numpy()
        target = relative_targets_numpy(t, labels.numpy(), T, gamma, variant)
        diff = t - target
        scale = 1.0 / diff.size if reduction == "mse" else 0.5 / (T * T * t.shape[0])
        flat = diff.reshape(-1)
        if ctx.needs_input_grad[0]:
            ctx.grad_scale = 2.0 * scale
            ctx.grad = torch.from_numpy(diff * np.float32(ctx.grad_scale))
            ctx.target = torch.from_numpy(target)
            ctx.save_for_backward(times)
        return torch.tensor(scale * float(np.dot(flat, flat)), dtype=times.dtype)

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: torch.autograd.function.FunctionCtx, grad_out: torch.Tensor
    ) -> tuple[torch.Tensor, None, None, None, None, None]:
        if torch.is_grad_enabled():  # create_graph: the same gradient as a function of times
            (times,) = ctx.saved_tensors
            grad = (times - ctx.target) * ctx.grad_scale * grad_out
        else:
            grad = ctx.grad * grad_out
        return grad, None, None, None, None, None


def ce_neg_time(
    times: torch.Tensor, labels: torch.Tensor, T: int, temperature: float = 1.0
) -> torch.Tensor:
    """Softmax cross-entropy on negative spike times: p_k ~ exp(-t_k / temperature)."""
    if temperature <= 0:
        raise ValueError(f"temperature must be > 0, got {temperature}")
    return F.cross_entropy(-times / temperature, labels)


class RelativeTargetMSE:
    """Configurable callable wrapper of :func:`relative_target_mse` (Hydra-friendly)."""

    def __init__(
        self, gamma: float = 3.0, variant: str = "s4nn", reduction: str = "half_sum"
    ) -> None:
        _check_target_options(gamma, variant)
        _check_reduction(reduction)
        self.gamma, self.variant, self.reduction = gamma, variant, reduction

    def __call__(self, times: torch.Tensor, labels: torch.Tensor, T: int) -> torch.Tensor:
        return relative_target_mse(times, labels, T, self.gamma, self.variant, self.reduction)


class NegTimeCrossEntropy:
    """Configurable callable wrapper of :func:`ce_neg_time` (Hydra-friendly)."""

    def __init__(self, temperature: float = 1.0) -> None:
        if temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {temperature}")
        self.temperature = temperature

    def __call__(self, times: torch.Tensor, labels: torch.Tensor, T: int) -> torch.Tensor:
        return ce_neg_time(times, labels, T, self.temperature)
