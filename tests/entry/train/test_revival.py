"""Dead/saturated hidden-neuron fractions, and the dead-neuron revival and threshold
homeostasis policies (bstdg.lit.policies)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bstdg.lit.metrics import FireCounts, dead_and_saturated
from bstdg.lit.optim_state import zero_optimizer_state_
from bstdg.snn import SpikingNet
from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.hydra_compose import SYNTHETIC

REVIVAL = ["+callbacks/policies=dead_neuron_revival"]
HOMEOSTASIS = ["+callbacks/policies=threshold_homeostasis"]


def test_dead_and_saturated_fractions_pool_every_hidden_neuron() -> None:
    a, b = FireCounts(3), FireCounts(2)
    a.update(torch.tensor([[True, False, False], [True, True, False]]))
    b.update(torch.tensor([[False, True], [False, True]]))
    dead, saturated = dead_and_saturated([a, b])
    assert dead.item() == pytest.approx(2 / 5)  # a[2], b[0]
    assert saturated.item() == pytest.approx(2 / 5)  # a[0], b[1]


def _net() -> SpikingNet:
    return SpikingNet(12, 3, T=16, hidden=[5], threshold_init=[4.0, 2.0],
                      init_range=[[-1.0, 3.0], [-5.0, 5.0]])


def test_revive_redraws_incoming_resets_threshold_and_zeroes_outgoing() -> None:
    net = _net()
    with torch.no_grad():
        net.layers[0].threshold.fill_(9.0)
    w0, w1 = net.layers[0].weight.detach().clone(), net.layers[1].weight.detach().clone()
    mask = torch.tensor([False, True, False, True, False])
    touched = net.revive_neurons_(0, mask)
    hidden, out = net.layers
    assert not torch.equal(hidden.weight[mask], w0[mask])
    assert ((hidden.weight[mask] >= -1.0) & (hidden.weight[mask] <= 3.0)).all()
    assert torch.equal(hidden.weight[~mask], w0[~mask])
    assert hidden.threshold[mask].tolist() == [4.0, 4.0]
    assert hidden.threshold[~mask].tolist() == [9.0, 9.0, 9.0]
    assert (out.weight[:, mask] == 0).all() and torch.equal(out.weight[:, ~mask], w1[:, ~mask])
    assert [p is q for (p, _), q in zip(touched, (hidden.weight, hidden.threshold, out.weight),
                                          strict=True)] == [True] * 3
    with pytest.raises(ValueError, match="not a hidden layer"):
        net.revive_neurons_(1, torch.ones(3, dtype=torch.bool))


def test_optimizer_state_of_revived_entries_is_cleared() -> None:
    net = _net()
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    for p in net.parameters():
        p.grad = torch.ones_like(p)
    opt.step()
    mask = torch.tensor([True, False, False, False, True])
    for param, index in net.revive_neurons_(0, mask):
        zero_optimizer_state_(opt, param, index)
    w_state, w_out_state = opt.state[net.layers[0].weight], opt.state[net.layers[1].weight]
    for name in ("exp_avg", "exp_avg_sq"):
        assert (w_state[name][mask] == 0).all() and (w_state[name][~mask] != 0).all()
        assert (w_out_state[name][:, mask] == 0).all()
        assert (w_out_state[name][:, ~mask] != 0).all()
    assert float(w_state["step"]) == 1.0


def test_training_run_revives_and_logs_hidden_health(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=2", *REVIVAL,
                   "callbacks.dead_neuron_revival.min_rate=0.5",
                   "callbacks.dead_neuron_revival.mode=full")
    run_task(train, cfg)
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    # rate 0.5: every hidden neuron firing on fewer than half the samples is revived
    assert metrics["train/reinit_neurons/layer1"] > 0
    for stage in ("train", "val", "test"):
        dead, saturated = (metrics[f"{stage}/hidden_{k}_frac"] for k in ("dead", "saturated"))
        assert dead < 1.0 and dead + saturated <= 1.0  # no neuron is both
        assert metrics[f"{stage}/hidden_spikes"] > 0


def test_unknown_revival_mode_is_refused(make_cfg) -> None:
    with pytest.raises(Exception, match="callbacks.dead_neuron_revival.mode 'all'"):
        train(make_cfg(*SYNTHETIC, "trainer.max_epochs=1", *REVIVAL,
                       "callbacks.dead_neuron_revival.mode=all"))


def _hidden_threshold(run_dir: Path) -> tuple[torch.Tensor, int]:
    """The hidden thresholds of the last checkpoint and its optimiser step count."""
    ckpt = torch.load(run_dir / "checkpoints" / "last.ckpt", map_location="cpu",
                      weights_only=True)
    return ckpt["state_dict"]["net.layers.0.threshold"], int(ckpt["global_step"])


@pytest.mark.parametrize("target,direction", [(0.99, -1), (0.01, 1), (None, 0)])
def test_homeostasis_moves_hidden_thresholds_towards_the_target_rate(
    make_cfg, tmp_path: Path, target: float | None, direction: int
) -> None:
    """With a vanishing learning rate only homeostasis moves the thresholds: on average down
    towards a target rate of 0.99 (a neuron firing on every sample still rises, by at most
    rate * 0.01 per step), up towards 0.01, not at all when it is off."""
    rate = 0.0 if target is None else 0.5
    policy = [] if target is None else [
        *HOMEOSTASIS, f"callbacks.threshold_homeostasis.rate={rate}",
        f"callbacks.threshold_homeostasis.target={target}"]
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=1", "model.optimizer.lr=1e-12", *policy)
    theta0 = float(cfg.model.net.threshold_init[0])
    run_task(train, cfg)
    theta, steps = _hidden_threshold(tmp_path)
    change = theta - theta0
    if direction == 0:
        assert torch.allclose(change, torch.zeros_like(change), atol=1e-6)
        return
    assert steps > 0 and float(change.mean()) * direction > 0.05, change
    against = rate * 0.01 * steps  # the most a step can move a neuron against the target
    assert (change * direction >= -against - 1e-5).all(), change


@pytest.mark.parametrize("mode", ["fixed", "bs4nn_fact"])
def test_homeostasis_needs_trained_thresholds(make_cfg, mode: str) -> None:
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=1", *HOMEOSTASIS,
                   f"model.net.threshold_mode={mode}")
    with pytest.raises(Exception, match=f"threshold_mode '{mode}'"):
        train(cfg)


def test_homeostasis_refuses_gradient_accumulation(make_cfg) -> None:
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=1", *HOMEOSTASIS,
                   "+trainer.accumulate_grad_batches=2")
    with pytest.raises(Exception, match="accumulate_grad_batches=1"):
        train(cfg)
