"""python -m bstdg.convert: checkpoints of earlier versions, converted once, in place."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bstdg.config_defaults import net_defaults
from bstdg.convert import convert_checkpoint, main
from bstdg.utils.checkpoint import OutdatedCheckpointError, read_checkpoint

EARLIER_NET = {"_target_": "bstdg.snn.SpikingNet", "_partial_": True, "hidden": [8],
               "rule": {"A": 1.0}}


def _earlier(**model: object) -> dict:
    run_config = {"model": {"net": dict(EARLIER_NET), **model}, "data": {}}
    return {"state_dict": {"net.layers.0.weight": torch.zeros(2, 3)},
            "hyper_parameters": {"n_inputs": 3, "n_classes": 2, "run_config": run_config,
                                 "dead_neuron_min_rate": 0.0}}


def test_the_policies_leave_and_the_net_keeps_its_earlier_rule_defaults() -> None:
    checkpoint = _earlier(dead_neuron_min_rate=0.001, dead_neuron_revival="incoming")
    notes = convert_checkpoint(checkpoint)
    hparams = checkpoint["hyper_parameters"]
    model = hparams["run_config"]["model"]
    assert "dead_neuron_min_rate" not in hparams
    assert set(model) == {"net"}
    assert "model.dead_neuron_min_rate=0.001 dropped" in notes
    net = model["net"]
    assert set(net) == set(net_defaults()) and net["hidden"] == [8]
    # the rule defaults of the version that wrote it: exp kernel, tau = T / 8
    assert net["rule"]["kernel"] == "exp" and net["rule"]["tau_fraction"] == 0.125
    assert net["rule"]["A"] == 1.0 and net["rule"]["eps"] == net_defaults()["rule"]["eps"]


def test_a_file_is_refused_then_converted_in_place_once(tmp_path: Path, capsys) -> None:
    path = tmp_path / "old.ckpt"
    torch.save(_earlier(stop_on_silence=True), path)
    with pytest.raises(OutdatedCheckpointError, match=f"python -m bstdg.convert {path}"):
        read_checkpoint(path)
    assert main([str(path)]) == 0
    assert "converted" in capsys.readouterr().out
    assert "stop_on_silence" not in read_checkpoint(path)["hyper_parameters"]["run_config"]
    assert (tmp_path / "old.ckpt.bak").is_file()
    assert main([str(path)]) == 0
    assert "already current" in capsys.readouterr().out


def test_a_checkpoint_without_run_config_needs_its_run_folder(tmp_path: Path, capsys) -> None:
    checkpoint = _earlier()
    del checkpoint["hyper_parameters"]["run_config"]
    path = tmp_path / "lone.ckpt"
    torch.save(checkpoint, path)
    assert main([str(path)]) == 1
    assert ".hydra/config.yaml" in capsys.readouterr().out
    assert not (tmp_path / "lone.ckpt.bak").exists()
