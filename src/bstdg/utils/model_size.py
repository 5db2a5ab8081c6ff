"""Parameter count and deployable size of a model, in bits."""

from __future__ import annotations

import torch
from torch import nn

FP32_BITS = 32


def is_spiking_layer(module: nn.Module) -> bool:
    """Whether ``module`` is a single-spike layer (:class:`bstdg.snn.SpikingLinear`): a
    ``weight``, a ``threshold`` and a ``spec`` that says whether the weights are binary."""
    return (isinstance(getattr(module, "weight", None), torch.Tensor)
            and isinstance(getattr(module, "threshold", None), torch.Tensor)
            and isinstance(getattr(getattr(module, "spec", None), "binary", None), bool))


def model_size(model: nn.Module) -> dict[str, int]:
    """``n_params`` (trainable), ``model_bits`` and ``model_bits_fp32``.

    ``model_bits`` counts 1 bit per binary (±1) weight, 32 per real weight and 32 per
    threshold (trained or fixed); every other parameter counts 32. ``model_bits_fp32`` is the
    same model with every weight and threshold stored as fp32.
    """
    n_params = sum(p.numel() for p in model.parameters() if p.requires_grad)
    bits = bits_fp32 = 0
    counted: set[int] = set()
    for layer in model.modules():
        if is_spiking_layer(layer):
            n_weights, n_thresholds = layer.weight.numel(), layer.threshold.numel()
            weight_bits = 1 if layer.spec.binary else FP32_BITS
            bits += n_weights * weight_bits + n_thresholds * FP32_BITS
            bits_fp32 += (n_weights + n_thresholds) * FP32_BITS
            counted.update((id(layer.weight), id(layer.threshold)))
    rest = sum(p.numel() for p in model.parameters() if id(p) not in counted)
    bits += rest * FP32_BITS
    bits_fp32 += rest * FP32_BITS
    return {"n_params": n_params, "model_bits": bits, "model_bits_fp32": bits_fp32}
