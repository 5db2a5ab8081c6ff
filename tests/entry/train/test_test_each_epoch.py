"""The papers' best-test-epoch figure (bstdg.lit.test_curve.TestAccuracyEachEpoch) beside the
platform's test accuracy of the checkpoint chosen on validation."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.hydra_compose import SYNTHETIC

TEST_EACH_EPOCH = ["+callbacks/extras=test_each_epoch"]


def _metrics(make_cfg, tmp_path: Path, *overrides: str) -> dict:
    run_task(train, make_cfg(*SYNTHETIC, *TEST_EACH_EPOCH, *overrides))
    return json.loads((tmp_path / "metrics.json").read_text())


def test_one_epoch_gives_the_test_stage_accuracy(make_cfg, tmp_path: Path) -> None:
    # one epoch: the checkpoint the test stage reads is the model the callback measured
    metrics = _metrics(make_cfg, tmp_path, "trainer.max_epochs=1")
    assert metrics["test_epoch/acc"] == pytest.approx(metrics["test/acc"], abs=1e-6)
    assert metrics["test_epoch/acc_ties"] == pytest.approx(metrics["test/acc_ties"], abs=1e-6)
    assert metrics["test_epoch/acc_best"] == metrics["test_epoch/acc"]
    assert metrics["test_epoch/best_epoch"] == 0


def test_best_test_epoch_bounds_the_validation_choice(make_cfg, tmp_path: Path) -> None:
    metrics = _metrics(make_cfg, tmp_path, "trainer.max_epochs=3")
    # the best-validation epoch is one of the epochs the maximum runs over
    assert metrics["test/acc"] <= metrics["test_epoch/acc_best"] + 1e-6
    assert metrics["test/acc_ties"] <= metrics["test_epoch/acc_ties_best"] + 1e-6
    assert metrics["test_epoch/acc"] <= metrics["test_epoch/acc_best"]
    assert 0 <= metrics["test_epoch/best_epoch"] <= 2
    ckpt = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=False)
    saved = next(v for k, v in ckpt["callbacks"].items() if "TestAccuracyEachEpoch" in k)
    assert saved["acc"] == pytest.approx(metrics["test_epoch/acc_best"])


def test_baseline_presets_carry_it(make_cfg) -> None:
    for name in ("mnist_s4nn", "mnist_bs4nn", "mnist_sstdp", "caltech_s4nn"):
        assert "test_each_epoch" in make_cfg(f"experiment={name}").callbacks, name
    assert "test_each_epoch" not in make_cfg("experiment=mnist_bstdg").callbacks
