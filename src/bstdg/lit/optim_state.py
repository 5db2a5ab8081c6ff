"""Optimiser-state surgery for revived neurons."""

from __future__ import annotations

from typing import Any

import torch


def zero_optimizer_state_(optimizer: torch.optim.Optimizer, param: torch.Tensor,
                          index: Any) -> None:
    """Zero ``state[param][name][index]`` for every per-element state tensor of ``param``
    (Adam's moments, SGD's momentum buffer); scalar state such as Adam's step count is kept."""
    state = optimizer.state.get(param)
    if not state:
        return
    with torch.no_grad():
        for value in state.values():
            if torch.is_tensor(value) and value.shape == param.shape:
                value[index] = 0
