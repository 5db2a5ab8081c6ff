"""The project's W&B logger: metric definitions before logging, checkpoint artifacts
(best/last aliases, val/acc_best metadata) that also work offline."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch
from pytorch_lightning.callbacks import ModelCheckpoint

from bstdg.tracking.logger import WandbLogger
from bstdg.utils.checks import ConfigError


class FakeRun:
    """Stands in for a wandb Run: records what the logger asks of it."""

    id = "run123"

    def __init__(self) -> None:
        self.defined: list[str] = []
        self.logged: list[dict[str, Any]] = []
        self.artifacts: list[tuple[Any, list[str]]] = []

    def define_metric(self, name: str, **options: Any) -> None:
        self.defined.append(name)

    def log(self, data: dict[str, Any]) -> None:
        self.logged.append(data)

    def log_artifact(self, artifact: Any, aliases: list[str]) -> None:
        self.artifacts.append((artifact, aliases))


def _logger(tmp_path: Path, log_model: bool | str = True) -> tuple[WandbLogger, FakeRun]:
    logger = WandbLogger(save_dir=str(tmp_path), offline=True, project="p",
                         log_model=log_model, add_file_policy="immutable")
    run = FakeRun()
    logger._experiment = run
    return logger, run


def _checkpoints(tmp_path: Path, same: bool = False) -> ModelCheckpoint:
    callback = ModelCheckpoint(dirpath=tmp_path, monitor="val/acc", mode="max")
    best, last = tmp_path / "epoch_001.ckpt", tmp_path / "last.ckpt"
    best.write_bytes(b"best")
    last.write_bytes(b"last")
    callback.best_model_path = str(best)
    callback.last_model_path = str(best if same else last)
    callback.best_model_score = torch.tensor(0.75)
    callback.best_k_models = {str(best): torch.tensor(0.75)}
    return callback


def test_keys_are_defined_before_their_first_value(tmp_path: Path) -> None:
    logger, run = _logger(tmp_path)
    logger.log_metrics({"val/acc": 0.5, "epoch": 0}, step=3)
    logger.log_metrics({"val/acc": 0.6, "train/loss_step": 1.0, "epoch": 1}, step=7)
    assert run.defined == ["epoch", "val/acc", "train/loss_step"]
    assert run.logged[-1]["trainer/global_step"] == 7


def test_offline_log_model_logs_best_and_last_once_when_fitting_succeeds(
        tmp_path: Path) -> None:
    logger, run = _logger(tmp_path)
    callback = _checkpoints(tmp_path)
    logger.log_metrics({"val/acc_best": 0.75, "epoch": 1}, step=2)
    logger.after_save_checkpoint(callback)
    assert run.artifacts == []  # log_model=true: at the end of fitting
    logger.finalize("success")
    logger.finalize("success")  # the test stage ends too: nothing new
    assert [aliases for _, aliases in run.artifacts] == [["best"], ["last"]]
    best, last = (artifact for artifact, _ in run.artifacts)
    assert best.name == "model-run123" and best.type == "model"
    assert best.metadata["val/acc_best"] == 0.75 and best.metadata["score"] == 0.75
    assert best.metadata["original_filename"] == "epoch_001.ckpt"
    assert last.metadata["original_filename"] == "last.ckpt"
    assert list(best.manifest.entries) == ["model.ckpt"]


def test_one_file_that_is_best_and_last_gets_both_aliases(tmp_path: Path) -> None:
    logger, run = _logger(tmp_path)
    logger.after_save_checkpoint(_checkpoints(tmp_path, same=True))
    logger.finalize("success")
    assert [aliases for _, aliases in run.artifacts] == [["best", "last"]]
    assert run.artifacts[0][0].metadata["val/acc_best"] == 0.75  # from the callback


def test_failed_runs_log_no_checkpoint_and_all_logs_every_save(tmp_path: Path) -> None:
    logger, run = _logger(tmp_path)
    logger.after_save_checkpoint(_checkpoints(tmp_path))
    logger.finalize("failed")
    assert run.artifacts == []
    every, run = _logger(tmp_path, log_model="all")
    every.after_save_checkpoint(_checkpoints(tmp_path))
    assert len(run.artifacts) == 2


def test_no_artifacts_without_log_model(tmp_path: Path) -> None:
    logger, run = _logger(tmp_path, log_model=False)
    logger.after_save_checkpoint(_checkpoints(tmp_path))
    logger.finalize("success")
    assert run.artifacts == []


def test_an_unknown_log_model_names_the_key(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="logger.wandb.log_model='best' is invalid"):
        WandbLogger(save_dir=str(tmp_path), offline=True, log_model="best")


def test_no_deprecated_anonymous_setting_reaches_wandb(tmp_path: Path) -> None:
    logger = WandbLogger(save_dir=str(tmp_path), offline=True, project="p")
    assert "anonymous" not in logger._wandb_init
