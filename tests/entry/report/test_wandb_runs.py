"""bstdg-report on a W&B project: the API's runs become the same rows as local runs."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from bstdg.report.build import build_report, load_any
from bstdg.report.wandb_runs import load_wandb_runs


class FakeApi:
    """Stands in for ``wandb.Api`` (no network in tests)."""

    def __init__(self, runs: list[SimpleNamespace]) -> None:
        self._runs = runs
        self.asked: list[str] = []

    def runs(self, path: str) -> list[SimpleNamespace]:
        self.asked.append(path)
        return self._runs


def _run(seed: int, acc: float, T: int, state: str = "finished") -> SimpleNamespace:
    config = {"run_name": "mnist_bstdg", "seed": seed, "encoder": {"_target_": "x", "T": T},
              "model": {"net": {"hidden": [600]}}, "env": {"cpu": "x"},
              "derived": {"n_params": 10}, "evaluated": {"checkpoint": "a.ckpt"}}
    summary = {"test/acc": acc, "test/acc_ties": acc + 0.01, "_step": 9,
               "spike_times/layer1": {"_type": "histogram"}, "val/acc": {"max": acc + 0.02},
               "val/loss": {"min": 0.1, "mean": 0.2}}
    return SimpleNamespace(summary=summary, config=config, state=state, id=f"r{seed}",
                           url=f"https://wandb.example/r{seed}")


def test_project_runs_become_rows_with_cfg_keys_and_status() -> None:
    api = FakeApi([_run(1, 0.9, 64), _run(2, 0.8, 64), _run(3, 0.1, 64, state="crashed")])
    runs = load_wandb_runs(["wandb:me/bstdg"], api=api)
    assert api.asked == ["me/bstdg"]
    assert list(runs["cfg/encoder.T"]) == [64, 64, 64]
    assert "cfg/env.cpu" not in runs and "cfg/encoder._target_" not in runs
    assert "spike_times/layer1" not in runs and "_step" not in runs
    assert list(runs["val/acc"]) == pytest.approx([0.92, 0.82, 0.12])  # define_metric max
    assert "val/loss" not in runs  # two aggregates: ambiguous, left out
    assert not [c for c in runs if c.startswith(("cfg/derived", "cfg/evaluated"))]
    assert list(runs["skip_reason"].isna()) == [True, True, False]
    assert runs.loc[2, "skip_reason"] == "status crashed"


def test_report_averages_finished_project_runs(monkeypatch: pytest.MonkeyPatch,
                                               tmp_path: Path) -> None:
    api = FakeApi([_run(1, 0.9, 64), _run(2, 0.8, 64), _run(3, 0.1, 64, state="crashed")])
    monkeypatch.setattr("bstdg.report.build.load_wandb_runs",
                        lambda projects: load_wandb_runs(projects, api=api))
    report = build_report(["wandb:me/bstdg"], tmp_path, plots=False)
    row = report.table.iloc[0]
    assert row["n"] == 2 and row["test/acc mean"] == pytest.approx(0.85)
    assert len(report.skipped) == 1


def test_a_malformed_project_name_is_refused() -> None:
    with pytest.raises(ValueError, match="wandb:ENTITY/PROJECT"):
        load_any(["wandb:justaname"])
