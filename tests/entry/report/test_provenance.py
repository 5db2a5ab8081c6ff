"""Per-group provenance (epochs, wall time, commits) and the two-table Markdown layout."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from bstdg.report import aggregate, load_runs, skipped_runs, write_tables
from bstdg.report.aggregate import commit_label
from helpers.report_fakes import finished, write_run

A, B = "a" * 40, "b" * 40


@pytest.fixture
def runs(tmp_path: Path) -> pd.DataFrame:
    """T=16: two runs (commit A clean, 10 and 5 epochs); T=32: one run (commit B dirty)."""
    write_run(tmp_path, "0", **finished(1, 16, 0.97, 10.0), **{
        "test/acc_ties": 0.98, "cfg/trainer.max_epochs": 10, "wall_s": 60.0,
        "git_commit": A, "git_dirty": False, "test/hidden_dead_frac": 0.1,
        "test/hidden_saturated_frac": 0.0})
    write_run(tmp_path, "1", **finished(2, 16, 0.96, 12.0), **{
        "test/acc_ties": 0.97, "cfg/trainer.max_epochs": 5, "wall_s": 180.0,
        "git_commit": A, "git_dirty": False, "test/hidden_dead_frac": 0.3,
        "test/hidden_saturated_frac": 0.02})
    write_run(tmp_path, "2", **finished(1, 32, 0.9, 20.0), **{
        "test/acc_ties": 0.91, "cfg/trainer.max_epochs": 10, "wall_s": 30.0,
        "git_commit": B, "git_dirty": True})
    return load_runs(tmp_path)


def test_groups_record_epochs_wall_time_and_commits(runs: pd.DataFrame) -> None:
    table = aggregate(runs, by=["encoder.T"]).set_index("cfg/encoder.T")
    assert list(table.columns[:6]) == ["n", "seeds", "epochs", "wall_min", "commit",
                                       "test/acc mean"]
    assert table.loc[16, "epochs"] == "5,10" and table.loc[32, "epochs"] == "10"
    assert table.loc[16, "wall_min"] == pytest.approx(2.0)  # (60 + 180) / 2 s
    assert table.loc[16, "commit"] == "aaaaaaa" and table.loc[32, "commit"] == "bbbbbbb+dirty"
    assert table.loc[16, "test/hidden_dead_frac mean"] == pytest.approx(0.2)
    assert math.isnan(table.loc[32, "test/hidden_saturated_frac mean"])


def test_health_metrics_only_when_runs_have_them(tmp_path: Path) -> None:
    write_run(tmp_path, "0", **finished(1, 16, 0.5, 1.0))
    table = aggregate(load_runs(tmp_path))
    assert "test/hidden_dead_frac mean" not in table
    assert table.loc[0, "epochs"] == "" and table.loc[0, "commit"] == ""
    assert math.isnan(table.loc[0, "wall_min"])


def test_commit_labels() -> None:
    assert commit_label(A, True) == "aaaaaaa+dirty"
    assert commit_label(A, None) == commit_label(A, False) == "aaaaaaa"
    assert commit_label(None, True) is None and commit_label(float("nan"), False) is None


def test_markdown_shows_accuracies_in_percent_then_the_other_metrics(
    runs: pd.DataFrame, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    write_tables(aggregate(runs, by=["encoder.T"]), out, skipped_runs(runs))
    md = (out / "table.md").read_text()
    main, other = md.split("### Other metrics")
    assert ("| encoder.T | n | seeds | epochs | test/acc (%) | test/acc_ties (%) | "
            "wall/run (min) | commit |") in main
    assert "| 16 | 2 | 1,2 | 5,10 | 96.50 ± 0.71 | 97.50 ± 0.71 | 2 | aaaaaaa |" in main
    assert "| 32 | 1 | 1 | 10 | 90.00 | 91.00 | 0.5 | bbbbbbb+dirty |" in main
    assert "test/hidden_spikes" not in main
    assert "test/hidden_dead_frac" in other and "0.2000 ± 0.1414" in other
    assert "| 16 | 11.00 ± 1.41 |" in other  # hidden spikes: std at the precision of the mean
