"""The W&B logger runs offline by default and carries group, tags and the resolved config."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.hydra_compose import SYNTHETIC


def test_offline_run_carries_group_tags_and_config(make_cfg, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_DIR", str(tmp_path))
    cfg = make_cfg(*[o for o in SYNTHETIC if not o.startswith("logger")], "logger=wandb",
                   "trainer.max_epochs=1", "tags=[unit,synthetic]")
    seen = {}

    def task(cfg, objects):
        metrics, objects = train(cfg, objects)
        run = objects["trainer"].loggers[0].experiment
        seen.update(group=run.group, tags=tuple(run.tags), job_type=run.job_type,
                    config=dict(run.config), offline=run.settings._offline)
        return metrics, objects

    run_task(task, cfg)
    assert seen["group"] == "synthetic_quickstart"
    assert seen["tags"] == ("unit", "synthetic") and seen["job_type"] == "train"
    assert seen["offline"]
    assert seen["config"]["encoder"]["T"] == 32
    assert seen["config"]["env"]["version/torch"]
    runs = list((tmp_path / "wandb").glob("offline-run-*"))
    assert len(runs) == 1
    wanted = (b"synthetic_quickstart", b"unit", b"infer_us_per_sample", b"encoder")
    record = b""
    for _ in range(100):  # the W&B service flushes the record stream asynchronously
        record = next(runs[0].glob("run-*.wandb")).read_bytes()
        if all(text in record for text in wanted):
            break
        time.sleep(0.2)
    for text in wanted:
        assert text in record, text
    assert (tmp_path / "metrics.json").is_file()
