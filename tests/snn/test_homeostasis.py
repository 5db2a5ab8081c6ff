"""Homeostatic thresholds: theta_j += rate * (r_j - target), r_j = counts_j / n."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn.homeostasis import homeostatic_threshold_step_


def test_silent_neurons_fall_and_busy_ones_rise() -> None:
    theta = torch.tensor([30.0, 30.0, 30.0, 30.0])
    fired = torch.tensor([[0, 1, 1, 0], [0, 0, 1, 0], [0, 1, 1, 0], [0, 0, 1, 1]], dtype=torch.bool)
    homeostatic_threshold_step_(theta, fired.sum(0), 4, target_rate=0.25, rate=2.0)
    # rates 0, 0.5, 1, 0.25
    assert theta.tolist() == pytest.approx([29.5, 30.5, 31.5, 30.0])


def test_a_per_layer_threshold_follows_the_mean_rate() -> None:
    theta = torch.tensor([10.0])
    fired = torch.tensor([[1, 0, 0, 0], [1, 1, 0, 0]], dtype=torch.bool)  # mean rate 3/8
    homeostatic_threshold_step_(theta, fired.sum(0), 2, target_rate=0.125, rate=4.0)
    assert theta.tolist() == pytest.approx([11.0])


def test_an_empty_batch_changes_nothing() -> None:
    theta = torch.tensor([5.0, 6.0])
    homeostatic_threshold_step_(theta, torch.zeros(2), 0, 0.1, 1.0)
    assert theta.tolist() == [5.0, 6.0]
