"""bstdg-report never drops a run or a value silently: run dirs without metrics.json,
non-finite test metrics and seeds that are not integers are all shown."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from bstdg.report.aggregate import aggregate
from bstdg.report.cli import main
from bstdg.report.runs import NO_METRICS, SKIP_REASON, load_runs, usable_runs
from helpers.report_fakes import finished, write_run


def _sweep(root: Path) -> Path:
    sweep = root / "sweep"
    write_run(sweep, "0", **finished(1, 16, 0.90, 10.0))
    write_run(sweep, "1", **finished(2, 16, 0.92, 10.0))
    killed = sweep / "2" / ".hydra"
    killed.mkdir(parents=True)
    (killed / "config.yaml").write_text("seed: 3\n")
    write_run(sweep, "3", **{**finished(4, 16, 0.5, 10.0), "test/acc": math.nan})
    return sweep


def test_every_dropped_run_and_non_finite_value_is_listed_and_counted(
        tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    sweep = _sweep(tmp_path)
    runs = load_runs(sweep)
    reasons = dict(zip(runs["run_dir"].map(lambda d: Path(d).name), runs[SKIP_REASON],
                       strict=True))
    assert reasons["2"] == NO_METRICS
    assert reasons["3"] == "non-finite test metric(s): test/acc = nan"
    assert len(usable_runs(runs)) == 2
    assert main([str(sweep), "--out", str(tmp_path / "out"), "--no-plots"]) == 0
    out = capsys.readouterr().out
    assert "2 runs averaged in 1 groups" in out and "; 2 skipped" in out
    assert f"skipped {sweep.resolve() / '2'}: {NO_METRICS}" in out
    skipped = (tmp_path / "out" / "skipped.md").read_text()
    assert "no metrics.json" in skipped and "test/acc = nan" in skipped


def test_a_seed_that_is_not_an_integer_is_shown(tmp_path: Path) -> None:
    for job, seed in enumerate((2, 1, 1.5, "abc")):
        write_run(tmp_path / "s", str(job), **{**finished(1, 16, 0.9, 10.0), "seed": seed})
    agg = aggregate(load_runs(tmp_path / "s"), by=[])
    assert agg["seeds"].iloc[0] == "1,1.5,2,abc"
