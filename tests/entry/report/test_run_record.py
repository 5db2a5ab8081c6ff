"""metrics.json records what the run was: cfg/ entries, Hydra job, model size, environment."""

from __future__ import annotations

import json
from collections.abc import Iterator
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from bstdg.snn import SpikingNet
from bstdg.train import train
from bstdg.utils.model_size import model_size
from bstdg.utils.run_info import cpu_model
from bstdg.utils.task import run_task
from helpers.hydra_compose import FAST, SYNTHETIC, compose_cfg

QUICK = [*FAST, *SYNTHETIC, "trainer.max_epochs=1", "encoder.T=16",
         "+trainer.limit_train_batches=2", "+trainer.limit_val_batches=1",
         "+trainer.limit_test_batches=1"]


@pytest.fixture
def cfg(tmp_path: Path) -> Iterator[DictConfig]:
    yield compose_cfg("train.yaml", QUICK, tmp_path)
    GlobalHydra.instance().clear()


def _read(path: Path) -> dict[str, Any]:
    return json.loads((path / "metrics.json").read_text())


def test_metrics_json_records_config_job_model_size_and_machine(cfg, tmp_path: Path) -> None:
    run_task(train, cfg)
    m = _read(tmp_path)
    assert m["status"] == "finished"
    assert m["cfg/encoder.T"] == 16 and m["cfg/model.net.hidden"] == [64]
    assert m["cfg/model.optimizer.lr"] == 0.02 and m["cfg/model.net.rule.kernel"] == "const"
    assert m["cfg/data.batch_size"] == 64 and m["cfg/loss.gamma"] == cfg.loss.gamma == 3.0
    assert m["cfg/trainer.max_epochs"] == 1 and m["cfg/seed"] == 7
    assert m["cfg/trainer.limit_train_batches"] == 2  # an overridden key outside the sections
    assert not any(k.endswith(("_target_", "_partial_", "data_dir")) for k in m)
    assert "encoder.T=16" in m["overrides"] and m["choice/data"] == "synthetic"
    assert "multirun_stamp" not in m  # a single run
    # 64-64-4, binary: 1 bit per weight, 32 per per-neuron threshold.
    assert m["n_params"] == 64 * 64 + 64 * 4 + 64 + 4
    assert m["model_bits"] == (64 * 64 + 64 * 4) + 32 * (64 + 4)
    assert m["model_bits_fp32"] == 32 * m["n_params"]
    assert m["experiment"] == "synthetic_quickstart" and m["seed"] == 7
    assert m["version/torch"] == torch.__version__ and m["version/numba"] == version("numba")
    assert m["cpu"] == cpu_model() and m["device"] == "cpu"
    # a dirty flag exactly when a commit is known (both None outside a git checkout)
    assert isinstance(m["git_dirty"], bool) == (m["git_commit"] is not None)
    assert len(m["load_avg_start"]) == len(m["load_avg_end"]) == 3


def test_running_status_is_written_before_the_task(cfg, tmp_path: Path) -> None:
    seen: dict[str, Any] = {}

    def peek(cfg: DictConfig, objects: dict[str, Any]) -> tuple[dict, dict]:
        seen.update(_read(tmp_path))
        return {"test/acc": 0.5}, objects

    run_task(peek, cfg)
    assert seen["status"] == "running" and seen["cfg/encoder.T"] == 16
    assert _read(tmp_path)["status"] == "finished"
    assert not list(tmp_path.glob("*.tmp"))


def test_model_bits_of_real_valued_and_fixed_threshold_nets() -> None:
    real = SpikingNet(n_inputs=10, n_classes=2, T=8, hidden=[5], binary=False)
    size = model_size(real)
    assert size["model_bits"] == size["model_bits_fp32"] == 32 * (10 * 5 + 5 * 2 + 5 + 2)
    fixed = SpikingNet(n_inputs=10, n_classes=2, T=8, hidden=[5], threshold_mode="fixed")
    size = model_size(fixed)
    assert size["n_params"] == 10 * 5 + 5 * 2  # fixed thresholds are buffers
    assert size["model_bits"] == 10 * 5 + 5 * 2 + 32 * 2


def test_failed_and_interrupted_runs_say_so(cfg, tmp_path: Path) -> None:
    def fail(cfg: DictConfig, objects: dict[str, Any]) -> tuple[dict, dict]:
        raise ValueError("bad value")

    def stop(cfg: DictConfig, objects: dict[str, Any]) -> tuple[dict, dict]:
        raise KeyboardInterrupt

    with pytest.raises(ValueError):
        run_task(fail, cfg)
    m = _read(tmp_path)
    assert m["status"] == "failed" and m["error"] == "ValueError: bad value"
    assert m["cfg/encoder.T"] == 16 and "load_avg_end" in m
    with pytest.raises(KeyboardInterrupt):
        run_task(stop, cfg)
    assert _read(tmp_path)["status"] == "interrupted"
