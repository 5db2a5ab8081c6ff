"""load_runs / aggregate / write_tables on hand-written metrics.json files."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from bstdg.report import (
    NoRunsFoundError,
    aggregate,
    build_report,
    default_group_keys,
    load_runs,
    skipped_runs,
    usable_runs,
    write_tables,
)
from bstdg.report.cli import main
from helpers.report_fakes import finished, write_csv_log, write_run


@pytest.fixture
def sweep(tmp_path: Path) -> Path:
    """T=16 (seeds 1, 2) and T=32 (seeds 1, 2) finished; four runs that must not count."""
    root = tmp_path / "sweep"
    write_run(root, "0", **finished(1, 16, 0.5, 10.0))
    write_run(root, "1", **finished(2, 16, 0.75, 20.0))
    write_run(root, "2", **finished(1, 32, 0.25, 40.0))
    write_run(root, "3", **finished(2, 32, 1.0, 50.0))
    write_run(root, "4", **finished(3, 16, 0.0, 0.0), status="failed",
              error="ValueError: boom")
    write_run(root, "5", **{**finished(4, 16, 0.0, 0.0), "status": "running"})
    write_run(root, "6", **{k: v for k, v in finished(5, 16, 0.9, 1.0).items()
                             if k != "test/acc"})
    (root / "7").mkdir()
    (root / "7" / "metrics.json").write_text("{not json")
    return root


def test_failed_running_and_incomplete_runs_are_listed_not_averaged(sweep: Path) -> None:
    runs = load_runs(sweep)
    assert len(runs) == 8 and len(usable_runs(runs)) == 4
    reasons = dict(zip(skipped_runs(runs)["run_dir"].map(lambda p: Path(p).name),
                       skipped_runs(runs)["skip_reason"], strict=True))
    assert reasons["4"] == "status failed: ValueError: boom"
    assert reasons["5"] == "status running"
    assert reasons["6"].startswith("no test/acc")
    assert reasons["7"].startswith("unreadable metrics.json")


def test_default_grouping_is_experiment_and_varying_cfg_keys_without_seeds(sweep: Path) -> None:
    assert default_group_keys(load_runs(sweep)) == ["experiment", "cfg/encoder.T"]


def test_aggregate_statistics_are_exact(sweep: Path) -> None:
    table = aggregate(load_runs(sweep)).set_index("cfg/encoder.T")
    assert list(table.index) == [16, 32]
    t16, t32 = table.loc[16], table.loc[32]
    assert t16["n"] == 2 and t16["seeds"] == "1,2"
    assert t16["test/acc mean"] == 0.625 and t32["test/acc mean"] == 0.625
    assert t16["test/acc std"] == pytest.approx(math.sqrt(0.03125), rel=1e-12)
    assert (t16["test/acc min"], t16["test/acc max"], t16["test/acc n"]) == (0.5, 0.75, 2)
    assert t32["test/hidden_spikes mean"] == 45.0 and t16["test/decision_time mean"] == 4.0
    assert "time/epoch_s mean" not in table  # only the metrics that runs have


def test_a_list_setting_groups_alike_from_yaml_and_command_line(tmp_path: Path) -> None:
    # [1.0, 2.0] (a YAML default) and [1, 2] (an override) are one setting; [1, 4] is not
    root = tmp_path / "runs"
    for name, seed, scale in (("0", 1, [1, 2]), ("1", 2, [1.0, 2.0]), ("2", 1, [1, 4.0])):
        write_run(root, name, **finished(seed, 16, 0.5 + seed / 10, 10.0,
                                         **{"cfg/model.layer_lr_scale": scale}))
    table = aggregate(load_runs(root)).set_index("cfg/model.layer_lr_scale")
    assert sorted(table.index) == ["[1,2]", "[1,4]"]
    assert table.loc["[1,2]", "n"] == 2 and table.loc["[1,2]", "seeds"] == "1,2"


def test_explicit_grouping_and_metrics(sweep: Path) -> None:
    table = aggregate(load_runs(sweep), by=["experiment"], metrics=["test/acc"])
    assert len(table) == 1 and table.loc[0, "n"] == 4
    assert table.loc[0, "test/acc mean"] == 0.625
    assert [c for c in table.columns if c.startswith("test/")] == [
        "test/acc mean", "test/acc std", "test/acc n", "test/acc min", "test/acc max"]
    short = aggregate(load_runs(sweep), by=["encoder.T"], metrics=["test/acc"])
    assert list(short.columns[:2]) == ["cfg/encoder.T", "n"]
    with pytest.raises(KeyError, match="cfg/encoder.tau"):
        aggregate(load_runs(sweep), by=["cfg/encoder.tau"])


def test_tables_show_means_and_skipped_runs(sweep: Path, tmp_path: Path) -> None:
    runs = load_runs(sweep)
    out = tmp_path / "out"
    write_tables(aggregate(runs), out, skipped_runs(runs))
    md = (out / "table.md").read_text()
    assert ("| experiment | encoder.T | n | seeds | epochs | test/acc (%) | wall/run (min) "
            "| commit |") in md
    assert "| exp_a | 16 | 2 | 1,2 | – | 62.50 ± 17.68 | – | – |" in md
    assert "status failed: ValueError: boom" in md
    assert "status failed" in (out / "skipped.md").read_text()
    assert r"62.50 $\pm$ 17.68" in (out / "table.tex").read_text()
    csv = pd.read_csv(out / "table.csv")
    assert csv["test/acc mean"].tolist() == [0.625, 0.625]


def test_published_block_for_the_runs_dataset(tmp_path: Path) -> None:
    write_run(tmp_path / "r", "0", **finished(1, 64, 0.9, 30.0), **{"choice/data": "mnist"})
    report = build_report([tmp_path / "r"], tmp_path / "out", plots=False)
    md = (tmp_path / "out" / "table.md").read_text()
    published = md.split("## Published (not measured here)")[1]
    assert "| BS4NN | mnist | binary | 784-600-10 | 97 |" in published
    assert "| BSTDG | mnist | binary | unknown | unknown (not public) |" in published
    assert "fmnist" not in published and report.table.loc[0, "test/acc mean"] == 0.9


def test_cli_writes_tables_and_plots_from_a_glob(sweep: Path, tmp_path: Path,
                                                 capsys: pytest.CaptureFixture) -> None:
    write_csv_log(sweep / "0", [0.3, 0.5])
    out = tmp_path / "report"
    assert main([str(sweep.parent / "sw*"), "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "4 runs averaged in 2 groups (by experiment, cfg/encoder.T); 4 skipped" in printed
    for name in ("table.md", "table.csv", "table.tex", "skipped.md", "runs.csv",
                 "acc_vs_T.png", "acc_vs_T.pdf", "acc_vs_hidden_spikes.png",
                 "learning_curves.png", "learning_curves.pdf", "decision_time.png"):
        assert (out / name).stat().st_size > 0, name


def test_no_metrics_json_names_the_path_and_the_fix(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(NoRunsFoundError, match=str(tmp_path)):
        load_runs(tmp_path)
    assert main([str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert f"no metrics.json found at or beneath: {tmp_path}" in err
    assert "multirun directories" in err


def test_only_unfinished_runs_exit_nonzero_with_the_list(tmp_path: Path) -> None:
    write_run(tmp_path / "r", "0", **finished(1, 16, 0.5, 1.0), status="failed")
    assert main([str(tmp_path / "r"), "--out", str(tmp_path / "out")]) == 1
    assert "status failed" in (tmp_path / "out" / "skipped.md").read_text()


def test_runs_without_cfg_keys_read_them_from_their_hydra_folder(tmp_path: Path) -> None:
    run = write_run(tmp_path, "old", seed=1, **{"test/acc": 0.5})
    (run / ".hydra").mkdir()
    (run / ".hydra" / "config.yaml").write_text(
        "seed: 1\ndata:\n  _target_: x.Data\n  data_dir: /somewhere\n  seed: ${seed}\n"
        "encoder:\n  T: 64\ntrainer:\n  max_epochs: 3\n  devices: 2\n")
    (run / ".hydra" / "overrides.yaml").write_text("- encoder.T=64\n- trainer.devices=2\n"
                                                    "- experiment=mnist_bstdg\n")
    (run / ".hydra" / "hydra.yaml").write_text(
        "hydra:\n  runtime:\n    choices:\n      data: mnist\n      experiment: mnist_bstdg\n")
    row = load_runs(tmp_path).iloc[0]
    assert row["cfg/encoder.T"] == 64 and row["cfg/data.seed"] == 1
    assert row["cfg/trainer.max_epochs"] == 3 and row["cfg/trainer.devices"] == 2
    assert row["choice/data"] == "mnist" and "cfg/data.data_dir" not in row
    assert "cfg/experiment" not in row and "cfg/data._target_" not in row
