"""The CPU (numpy) relative-target loss against the torch one, its oracle."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from bstdg.snn.losses import (
    TARGET_VARIANTS,
    relative_target_mse,
    relative_targets,
    relative_targets_numpy,
)

T = 16


def _times(seed: int, batch: int = 12, classes: int = 5) -> tuple[torch.Tensor, torch.Tensor]:
    """Integer times in [0, T] with ties, a silent row and a row where only the label fires."""
    gen = torch.Generator().manual_seed(seed)
    times = torch.randint(0, T + 1, (batch, classes), generator=gen).float()
    labels = torch.randint(0, classes, (batch,), generator=gen)
    times[0] = T
    times[1] = T
    times[1, labels[1]] = 3
    times[2] = 5  # every output at once
    return times, labels


def _torch_loss(times: torch.Tensor, labels: torch.Tensor, gamma: float, variant: str,
                reduction: str) -> torch.Tensor:
    target = relative_targets(times, labels, T, gamma, variant)
    if reduction == "mse":
        return F.mse_loss(times, target)
    return 0.5 * (((target - times) / T) ** 2).sum(dim=1).mean()


@pytest.mark.parametrize("variant", TARGET_VARIANTS)
@pytest.mark.parametrize("gamma", [1.0, 3.0, 5.5])
def test_numpy_targets_equal_the_torch_targets(variant: str, gamma: float) -> None:
    for seed in range(5):
        times, labels = _times(seed)
        expected = relative_targets(times, labels, T, gamma, variant)
        got = relative_targets_numpy(times.numpy(), labels.numpy(), T, gamma, variant)
        assert got.dtype == np.float32
        np.testing.assert_array_equal(got, expected.numpy())


@pytest.mark.parametrize("variant", TARGET_VARIANTS)
@pytest.mark.parametrize("reduction", ["half_sum", "mse"])
def test_cpu_loss_and_gradient_match_the_torch_formula(variant: str, reduction: str) -> None:
    for seed in range(5):
        times, labels = _times(seed)
        a = times.clone().requires_grad_()
        b = times.clone().requires_grad_()
        loss = relative_target_mse(a, labels, T, 3.0, variant, reduction)
        ref = _torch_loss(b, labels, 3.0, variant, reduction)
        assert loss.dtype == torch.float32 and loss.dim() == 0
        assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
        (2.5 * loss).backward()
        (2.5 * ref).backward()
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-9)
        assert loss.grad_fn is not None and "Numpy" in type(loss.grad_fn).__name__


def test_other_dtypes_and_bad_labels_take_the_torch_path() -> None:
    times, labels = _times(0)
    loss64 = relative_target_mse(times.double(), labels, T)
    assert loss64.dtype == torch.float64
    assert loss64.item() == pytest.approx(relative_target_mse(times, labels, T).item(), rel=1e-6)
    bad = labels.clone()
    bad[3] = times.shape[1]  # one past the last class: the torch version's index error
    with pytest.raises(RuntimeError, match="out of bounds"):
        relative_target_mse(times, bad, T)
    bad[3] = -1
    with pytest.raises(RuntimeError, match="out of bounds"):
        relative_target_mse(times, bad, T)


def test_cpu_path_refuses_the_options_the_torch_path_refuses() -> None:
    times, labels = _times(0)
    with pytest.raises(ValueError, match="unknown target variant"):
        relative_target_mse(times, labels, T, variant="s5nn")
    with pytest.raises(ValueError, match="gamma must be > 0"):
        relative_target_mse(times, labels, T, gamma=0.0)
