"""The multirun summary callback writes summary.csv/md and never raises."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd
import pytest
from hydra.types import RunMode
from omegaconf import OmegaConf

from bstdg.hydra_callbacks import DropEmptyJobLog
from bstdg.report.hydra_callback import MultirunSummary
from helpers.report_fakes import finished, write_run


def _config(sweep: Path, mode: RunMode = RunMode.MULTIRUN):
    return OmegaConf.create({"hydra": {"sweep": {"dir": str(sweep)}, "mode": mode}})


def test_summary_lists_failed_jobs(tmp_path: Path) -> None:
    write_run(tmp_path, "0", **finished(1, 16, 0.5, 10.0))
    write_run(tmp_path, "1", **finished(2, 16, 0.75, 20.0))
    write_run(tmp_path, "2", **finished(3, 16, 0.0, 0.0), status="failed", error="E: x")
    MultirunSummary().on_job_end(_config(tmp_path))
    summary = pd.read_csv(tmp_path / "summary.csv")
    assert summary["n"].tolist() == [2] and summary["test/acc mean"].tolist() == [0.625]
    md = (tmp_path / "summary.md").read_text()
    assert "62.50 ± 17.68" in md and "status failed: E: x" in md


def test_single_runs_and_disabled_callbacks_write_nothing(tmp_path: Path) -> None:
    write_run(tmp_path, "0", **finished(1, 16, 0.5, 10.0))
    MultirunSummary().on_job_end(_config(tmp_path, RunMode.RUN))
    MultirunSummary(enabled=False).on_multirun_end(_config(tmp_path))
    assert not (tmp_path / "summary.csv").exists()


def test_a_problem_is_a_warning_not_an_error(tmp_path: Path,
                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        MultirunSummary().on_multirun_end(_config(tmp_path / "empty"))
    assert "multirun summary not written: NoRunsFoundError" in caplog.text


def test_the_multirun_end_says_where_the_summary_is(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    write_run(tmp_path, "0", **finished(1, 16, 0.5, 10.0))
    MultirunSummary().on_multirun_end(_config(tmp_path))
    assert f"multirun summary: {tmp_path / 'summary.md'}" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["", "a line\n"])
def test_an_empty_job_log_is_dropped_and_a_written_one_kept(tmp_path: Path, text: str) -> None:
    (tmp_path / "train.log").write_text(text)
    config = OmegaConf.create({"hydra": {"runtime": {"output_dir": str(tmp_path)},
                                         "job": {"name": "train"}}})
    DropEmptyJobLog().on_job_end(config)
    assert (tmp_path / "train.log").exists() == bool(text)
