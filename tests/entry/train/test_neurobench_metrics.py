"""NeuroBench's figures in metrics.json (``neurobench/*``), against counts taken step by
step as NeuroBench's harness takes them (tests/helpers/neurobench_count.py)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bstdg.snn.layers import SpikingLinear, SpikingNet
from bstdg.snn.neurobench import connection_sparsity, footprint_bytes
from bstdg.snn.spike_stats import spike_statistics
from bstdg.snn.spikes import binarize
from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.hydra_compose import SYNTHETIC
from helpers.neurobench_count import stepwise_counts

SYNOPS = "neurobench/synaptic_operations/"


def test_metrics_json_neurobench_figures_match_a_stepwise_count(make_cfg,
                                                               tmp_path: Path) -> None:
    objects: dict = {}
    run_task(lambda cfg, built: train(cfg, objects.setdefault("built", built)),
             make_cfg(*SYNTHETIC, "trainer.max_epochs=1"))
    objects = objects["built"]
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    model, datamodule = objects["model"], objects["datamodule"]  # the tested (best) weights
    with torch.no_grad():
        batches = [(model.encoder(x), y) for x, y in datamodule.test_dataloader()]
        runs = [(t_in, model.net(t_in).times, y) for t_in, y in batches]
    n = sum(len(y) for _, _, y in runs)
    forward_weights = [binarize(layer.weight.detach()) for layer in model.net.layers]
    want: dict[str, float] = {"effective_acs": 0.0, "dense": 0.0, "activation_sparsity": 0.0}
    for t_in, times, y in runs:
        counts = stepwise_counts([t_in, *times], forward_weights, model.T)
        for key in want:
            want[key] += counts[key] * len(y) / n
    assert metrics[f"{SYNOPS}effective_acs"] == pytest.approx(want["effective_acs"], rel=1e-5)
    assert metrics[f"{SYNOPS}effective_acs"] == pytest.approx(metrics["test/synops"], rel=1e-6)
    assert metrics[f"{SYNOPS}dense"] == pytest.approx(want["dense"], rel=1e-9)
    assert metrics[f"{SYNOPS}effective_macs"] == 0.0
    assert metrics["neurobench/activation_sparsity"] == pytest.approx(
        want["activation_sparsity"], rel=1e-6)
    assert 0.0 < metrics["neurobench/activation_sparsity"] < 1.0
    state = model.net.state_dict()
    assert metrics["neurobench/footprint"] == sum(t.numel() * t.element_size()
                                                  for t in state.values())
    assert metrics["neurobench/connection_sparsity"] == 0.0  # binary: sign(0) = +1
    assert metrics["neurobench/classification_accuracy"] == metrics["test/acc"]


def test_connection_sparsity_counts_zero_forward_weights() -> None:
    real = SpikingLinear(4, 5, T=8, binary=False)
    binary = SpikingLinear(5, 2, T=8, binary=True)
    with torch.no_grad():
        real.weight[:3, 0] = 0.0
        binary.weight[0, :] = 0.0  # forward sign(0) = +1: no zero connection
    assert connection_sparsity([real]) == pytest.approx(3 / 20)
    assert connection_sparsity([real, binary]) == pytest.approx(3 / 30)
    assert footprint_bytes(real) == 4 * (20 + 5)  # float32 weights, per-neuron thresholds


def test_effective_acs_count_only_non_zero_synapses() -> None:
    """A real-valued layer with zero weights: a spike drives only its non-zero synapses."""
    torch.manual_seed(0)
    net = SpikingNet(12, 3, 8, hidden=[5], binary=False, threshold_init=[1.0, 1.0])
    with torch.no_grad():
        net.layers[0].weight[:, :4] = 0.0  # inputs 0-3 drive nothing
        net.layers[1].weight[0, :] = 0.0
    t_in = torch.randint(0, 9, (40, 12))
    out = net(t_in)
    fans = [layer.fan_out() for layer in net.layers]
    assert fans[0][:4].tolist() == [0] * 4 and fans[1].tolist() == [2] * 5
    got = spike_statistics(t_in, out, 8, fans)["synops"].double().mean().item()
    want = stepwise_counts([t_in, *out.times], [layer.weight.detach() for layer in net.layers],
                           8)["effective_acs"]
    assert got == pytest.approx(want, rel=1e-6)
    assert got < spike_statistics(t_in, out, 8)["synops"].double().mean().item()
