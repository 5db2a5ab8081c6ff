"""The NIR graph of an export run by a NIR consumer (norse, ``[interop]`` extra): the same
output spike times and decisions as bstdg.runtime, and the graph's single-spike and delay
encoding (bstdg.interop.nir_graph)."""

from __future__ import annotations

import json
from pathlib import Path

import nir
import numpy as np
import pytest
from hydra.core.global_hydra import GlobalHydra

import bstdg.runtime as rt
from bstdg.export import ExportError, export, write_export
from bstdg.interop.nir_graph import inhibition_weights, nir_graph
from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.deploy_helpers import SOURCE, random_times, small_model
from helpers.hydra_compose import FAST, SYNTHETIC, compose_cfg

norse_run = pytest.importorskip("bstdg.interop.norse_run")
pytest.importorskip("norse")


def _agreement(graph, exported: rt.ExportedModel, t_in: np.ndarray) -> tuple[float, float]:
    """Shares of samples with the runtime's output spike times and decisions in norse."""
    ref = exported.forward(t_in)
    times, v_fire, v_end = norse_run.run_in_norse(graph, t_in)
    got = rt.RuntimeOutput([times], v_fire, v_end)
    same_times = (times == ref.out_times).all(axis=1).mean()
    same_decisions = (exported.decide(got) == exported.decide(ref)).mean()
    return float(same_times), float(same_decisions)


@pytest.mark.parametrize("options", [
    {"hidden": (12,), "delay": 1},
    {"hidden": (10, 8), "delay": 2},
    {"hidden": (12,), "delay": 0, "window_trim": 2, "fallback_offset": 3},
])
def test_norse_gives_the_runtime_spike_times_on_small_nets(tmp_path: Path,
                                                           options: dict) -> None:
    exported = write_export(small_model(**options, theta_min=0.0), tmp_path / "model.npz",
                            SOURCE)
    t_in = random_times(2000, exported.sizes[0], exported.T).numpy()
    assert _agreement(nir_graph(exported, "shift"), exported, t_in) == (1.0, 1.0)


def test_shift_refuses_negative_thresholds(tmp_path: Path) -> None:
    """A neuron with theta < 0 fires at step 0 without input: a shift would move it."""
    exported = write_export(small_model(hidden=(12,)), tmp_path / "model.npz", SOURCE)
    assert any((t < 0).any() for t in exported.thresholds)
    with pytest.raises(ValueError, match="nir_delays=node"):
        nir_graph(exported, "shift")
    nir_graph(exported, "node")


def test_without_the_inhibition_edges_neurons_fire_again(tmp_path: Path) -> None:
    """The recurrent inh{k} edges are what keeps norse's IF neurons to one spike."""
    exported = write_export(small_model(hidden=(12,), theta_min=0.0), tmp_path / "model.npz",
                            SOURCE)
    graph = nir_graph(exported, "shift")
    graph.edges = [e for e in graph.edges if not (e[0].startswith("inh") or
                                                  e[1].startswith("inh"))]
    graph.nodes = {k: v for k, v in graph.nodes.items() if not k.startswith("inh")}
    t_in = random_times(2000, exported.sizes[0], exported.T).numpy()
    same_times, _ = _agreement(graph, exported, t_in)
    assert same_times < 0.999


def test_trained_synthetic_net_runs_in_norse(tmp_path: Path) -> None:
    cfg = compose_cfg("train.yaml", [*FAST, *SYNTHETIC, "trainer.max_epochs=1"], tmp_path / "run")
    _, objects = train(cfg)
    GlobalHydra.instance().clear()
    out = tmp_path / "export"
    run_task(export, compose_cfg("export.yaml", [f"ckpt_path={objects['last_ckpt_path']}",
                                                 "extras.print_config=false",
                                                 "nir_delays=shift"], out))
    GlobalHydra.instance().clear()
    assert json.loads((out / "metrics.json").read_text())["status"] == "finished"
    exported = rt.load(out / "model.npz")
    graph = nir.read(out / "model.nir")
    x = np.random.default_rng(0).integers(0, 256, (1000, exported.sizes[0]), dtype=np.uint8)
    same_times, same_decisions = _agreement(graph, exported, exported.encode(x))
    assert same_times >= 0.999 and same_decisions >= 0.999


def test_graph_encodes_single_spikes_and_delays(tmp_path: Path) -> None:
    exported = write_export(small_model(hidden=(12,), delay=2, theta_min=0.0),
                            tmp_path / "model.npz", SOURCE)
    node = nir_graph(exported, "node")
    assert set(node.nodes) >= {"fc0", "if0", "inh0", "delay0", "fc1", "if1", "inh1", "delay1"}
    assert (node.nodes["delay0"].delay == 2).all()
    assert ("if0", "inh0") in node.edges and ("inh0", "if0") in node.edges
    w, theta = exported.weights[0], exported.thresholds[0]
    inh = node.nodes["inh0"].weight
    assert (np.diag(inh) < -(np.abs(w).sum(1) + np.abs(theta))).all()
    assert np.count_nonzero(inh - np.diag(np.diag(inh))) == 0
    np.testing.assert_array_equal(inh, inhibition_weights(w, theta))
    assert int(node.metadata["output_time_shift"]) == 0
    shift = nir_graph(exported, "shift")
    assert not any(k.startswith("delay") for k in shift.nodes)
    assert int(shift.metadata["output_time_shift"]) == 4  # 2 layers x delay 2
    assert int(shift.metadata["run_steps"]) == exported.T - 2


def test_unknown_delay_mode_is_a_clear_error(tmp_path: Path) -> None:
    cfg = compose_cfg("export.yaml", [f"ckpt_path={tmp_path / 'x.ckpt'}", "nir_delays=later"],
                      tmp_path)
    with pytest.raises(ExportError, match="nir_delays='later'; valid: node, shift"):
        export(cfg)
    GlobalHydra.instance().clear()
