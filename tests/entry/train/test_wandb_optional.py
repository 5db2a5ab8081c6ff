"""Runs without a W&B logger are unaffected by the W&B features (issue 13)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bstdg.tracking.media import WandbMedia
from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.hydra_compose import SYNTHETIC


@pytest.mark.parametrize("logger", ["csv", "none"])
def test_runs_without_wandb_write_no_wandb_output(make_cfg, tmp_path: Path,
                                                  logger: str) -> None:
    cfg = make_cfg(*[o for o in SYNTHETIC if not o.startswith("logger")], f"logger={logger}",
                   "trainer.max_epochs=1", "callbacks.wandb_media.every_n_epochs=1")
    seen = {}

    def task(cfg, objects):
        metrics, objects = train(cfg, objects)
        seen["callbacks"] = objects["trainer"].callbacks
        return metrics, objects

    run_task(task, cfg)
    assert any(isinstance(c, WandbMedia) for c in seen["callbacks"])
    assert not (tmp_path / "wandb").exists()
    assert json.loads((tmp_path / "metrics.json").read_text())["status"] == "finished"
    assert (tmp_path / "csv").is_dir() == (logger == "csv")
