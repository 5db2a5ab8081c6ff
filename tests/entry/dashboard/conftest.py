"""A real tiny run (synthetic data, CSV logger) whose logged names the dashboards must use."""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from bstdg.train import CONFIG_DIR, train
from bstdg.utils.task import run_task

OVERRIDES = ["experiment=synthetic_quickstart", "logger=csv", "trainer.max_epochs=2",
             "trainer.enable_progress_bar=false", "extras.print_config=false",
             "callbacks.model_summary=null", "callbacks.inference_timer.max_samples=64",
             "callbacks.inference_timer.repeats=1"]


@dataclass
class LoggedNames:
    """What a finished run logged: the columns of its metrics.csv (every logger is sent the
    same metrics) and its hyperparameter keys (metrics.json's ``cfg/<dotted key>``)."""

    cfg: DictConfig
    metrics: set[str]
    config: set[str]


def _compose(out: Path) -> DictConfig:
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="train.yaml", return_hydra_config=True, overrides=OVERRIDES)
    with open_dict(cfg):
        cfg.paths.output_dir = cfg.paths.log_dir = cfg.hydra.runtime.output_dir = str(out)
    HydraConfig().set_config(cfg)
    return cfg


@pytest.fixture(scope="module")
def logged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedNames]:
    out = tmp_path_factory.mktemp("tiny_run")
    cfg = _compose(out)
    try:
        run_task(train, cfg)
    finally:
        GlobalHydra.instance().clear()
    record = json.loads((out / "metrics.json").read_text())
    assert record["status"] == "finished", record.get("error")
    (csv_file,) = out.glob("csv/version_*/metrics.csv")
    with csv_file.open() as fh:
        columns = set(next(csv.reader(fh)))
    config = {k.removeprefix("cfg/") for k in record if k.startswith("cfg/")}
    yield LoggedNames(cfg, columns, config)
