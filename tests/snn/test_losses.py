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
@pytest.mark.parametrize("gamma", [1.0, 3.0, 5.5])
def test_cpu_loss_and_gradient_match_the_torch_formula(variant: str, reduction: str,
                                                      gamma: float) -> None:
    for seed in range(5):
        times, labels = _times(seed)
        a = times.clone().requires_grad_()
        b = times.clone().requires_grad_()
        loss = relative_target_mse(a, labels, T, gamma, variant, reduction)
        ref = _torch_loss(b, labels, gamma, variant, reduction)
        assert loss.dtype == torch.float32 and loss.dim() == 0
        assert loss.item() == pytest.approx(ref.item(), rel=1e-6)
        (2.5 * loss).backward()
        (2.5 * ref).backward()
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-9)
        assert loss.grad_fn is not None and "Numpy" in type(loss.grad_fn).__name__


def test_strided_single_row_and_no_grad_inputs() -> None:
    times, labels = _times(1, batch=6, classes=8)
    wide = torch.stack([times, -times], dim=2)[:, :, 0]  # a strided view of the same values
    assert not wide.is_contiguous()
    expected = _torch_loss(times, labels, 3.0, "s4nn", "half_sum").item()
    assert relative_target_mse(wide, labels, T).item() == pytest.approx(expected, rel=1e-6)
    one = times[2:3].clone().requires_grad_()
    loss = relative_target_mse(one, labels[2:3], T)
    loss.backward()
    ref = times[2:3].clone().requires_grad_()
    _torch_loss(ref, labels[2:3], 3.0, "s4nn", "half_sum").backward()
    torch.testing.assert_close(one.grad, ref.grad)
    with torch.no_grad():
        assert relative_target_mse(times, labels, T).item() == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("reduction", ["half_sum", "mse"])
def test_second_derivatives_match_the_torch_version(reduction: str) -> None:
    times, labels = _times(0)
    grads = []
    for loss_fn in (lambda t: relative_target_mse(t, labels, T, 3.0, "s4nn", reduction),
                    lambda t: _torch_loss(t, labels, 3.0, "s4nn", reduction)):
        a = times.clone().requires_grad_()
        (grad,) = torch.autograd.grad(loss_fn(a), a, create_graph=True)
        ((grad ** 2).sum() + a.sum()).backward()  # a gradient penalty next to another term
        grads.append(a.grad)
    torch.testing.assert_close(grads[0], grads[1])
    assert not torch.equal(grads[0], torch.ones_like(grads[0]))  # the penalty's part is there


def test_other_dtypes_and_bad_labels_take_the_torch_path() -> None:
    times, labels = _times(0)
    t64 = times.double().requires_grad_()
    loss64 = relative_target_mse(t64, labels, T)
    assert loss64.dtype == torch.float64 and "Numpy" not in type(loss64.grad_fn).__name__
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
