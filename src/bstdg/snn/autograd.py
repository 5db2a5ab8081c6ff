"""The spike-timing-dependent gradient as one ``torch.autograd.Function``.

Forward runs the integer-time simulation (no graph through time); backward applies the
rule of ``bstdg.snn.rules`` to the stored input and output times only, so memory per layer
is O(B * N), independent of T.
"""

from __future__ import annotations

from typing import Any

import torch

from bstdg.snn.backends import Backend
from bstdg.snn.functional import layer_forward, layer_grads
from bstdg.snn.spec import LayerSpec


class SpikeTimingFunction(torch.autograd.Function):
    """t_out, v_fire, v_end = f(t_in, W_latent, theta) for a layer of ``spec``; gradients for
    (t_in, W, theta), simulated by the backend ``impl``."""

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        t_in: torch.Tensor,
        weight: torch.Tensor,
        threshold: torch.Tensor,
        spec: LayerSpec,
        impl: Backend,
        keep: bool = True,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        out, state = layer_forward(
            impl, t_in.detach(), weight.detach(), threshold.detach(), spec, keep
        )
        t_out = out.times
        ctx.spec = spec
        ctx.impl = impl
        ctx.threshold_shape = threshold.shape
        ctx.state = state
        ctx.save_for_backward(t_in.detach(), t_out, weight.detach(), out.v_fire)
        ctx.mark_non_differentiable(out.v_fire, out.v_end)
        return t_out, out.v_fire, out.v_end

    @staticmethod
    def backward(  # type: ignore[override]
        ctx: Any, grad_t_out: torch.Tensor, _gv: torch.Tensor, _ge: torch.Tensor
    ) -> tuple[torch.Tensor | None, torch.Tensor | None, torch.Tensor | None, None, None, None]:
        t_in, t_out, weight, v_fire = ctx.saved_tensors
        spec: LayerSpec = ctx.spec
        rule = spec.rule
        g = rule.upstream(grad_t_out, v_fire)
        need_t, need_w, need_theta = ctx.needs_input_grad[:3]
        grad_w = grad_t_in = grad_theta = None
        if need_t or need_w:
            grad_w, grad_t_in = layer_grads(
                ctx.impl, ctx.state, t_in, t_out, g, weight, spec, need_t_in=need_t
            )
            grad_w = grad_w.to(weight.dtype)
            if need_t and rule.silent_input_grad:
                grad_t_in = rule.silent_input_grad_(grad_t_in, t_in, g, weight, spec.binary,
                                                    spec.T)
        if need_theta:
            grad_theta = rule.threshold_grad(g, ctx.threshold_shape)
        return (
            (grad_t_in if need_t else None), (grad_w if need_w else None), grad_theta, None,
            None, None,
        )


def spike_timing_layer(
    t_in: torch.Tensor, weight: torch.Tensor, threshold: torch.Tensor, spec: LayerSpec,
    impl: Backend,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Functional entry: float spike times (integer-valued), v_fire, v_end of a layer of
    ``spec`` on the backend ``impl``."""
    keep = torch.is_grad_enabled() and (
        t_in.requires_grad or weight.requires_grad or threshold.requires_grad
    )
    return SpikeTimingFunction.apply(t_in, weight, threshold, spec, impl, keep)
