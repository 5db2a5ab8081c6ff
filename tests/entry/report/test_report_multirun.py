"""A synthetic multirun (two experiments x two seeds, plus failing jobs), then bstdg-report."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from bstdg.report.tables import PAPER_MAX_COLUMNS, tabular_columns

pytestmark = pytest.mark.slow

# T=1 is refused by the encoder, so its four jobs fail at once; the other four finish.
EXPERIMENTS = ("synthetic_quickstart", "synthetic_s4nn")
SWEEP = ["-m", f"experiment={','.join(EXPERIMENTS)}", "encoder.T=8,1", "seed=1,2",
         "logger=csv", "trainer.max_epochs=1", "++data.n_train=128", "++data.n_val=64",
         "++data.n_test=64", "trainer.enable_progress_bar=false", "extras.print_config=false",
         "callbacks.inference_timer.max_samples=64", "callbacks.inference_timer.repeats=1"]


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_multirun_then_report(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    done = _run("-m", "bstdg.train", *SWEEP, f"hydra.sweep.dir={sweep}", cwd=tmp_path)
    assert done.returncode != 0  # the failed jobs make the multirun fail, after all ran
    records = {int(p.parent.name): json.loads(p.read_text())
               for p in sweep.glob("*/metrics.json")}
    assert sorted(records) == list(range(8)), done.stderr[-3000:]
    ok = [r for r in records.values() if r["status"] == "finished"]
    assert len(ok) == 4 and all(r["cfg/encoder.T"] == 8 for r in ok)
    assert {r["experiment"] for r in ok} == set(EXPERIMENTS)
    binary = [r for r in ok if r["experiment"] == "synthetic_quickstart"]
    assert all(r["model_bits"] < r["model_bits_fp32"] for r in binary)
    assert {r["job_num"] for r in records.values()} == set(range(8))
    assert {r["multirun_stamp"] for r in records.values()} == {"sweep"}

    summary = pd.read_csv(sweep / "summary.csv")  # Hydra callback, rebuilt after each job
    assert sorted(summary["experiment"]) == sorted(EXPERIMENTS)
    assert "status failed" in (sweep / "summary.md").read_text()

    out = tmp_path / "report"
    done = _run("-m", "bstdg.report", str(sweep), "--out", str(out), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "4 runs averaged in 2 groups (by experiment" in done.stdout
    assert "4 skipped" in done.stdout
    table = pd.read_csv(out / "table.csv").set_index("experiment")
    for name in EXPERIMENTS:
        runs = [r for r in ok if r["experiment"] == name]
        assert table.loc[name, "n"] == 2
        assert table.loc[name, "test/acc mean"] == pytest.approx(
            statistics.mean(r["test/acc"] for r in runs), abs=1e-12)
        assert table.loc[name, "test/hidden_spikes std"] == pytest.approx(
            statistics.stdev(r["test/hidden_spikes"] for r in runs), abs=1e-9)
    skipped = (out / "skipped.md").read_text()
    assert skipped.count("status failed: ") == 4
    assert skipped.count("an integer >= 2") == 4
    for name in ("table.md", "table.tex", "table.csv", "acc_vs_hidden_spikes.png",
                 "acc_vs_hidden_spikes.pdf", "learning_curves.png", "learning_curves.pdf",
                 "decision_time_hist.png", "decision_time_hist.pdf", "decision_time.pdf"):
        assert (out / name).stat().st_size > 0, name
    tex = (out / "table.tex").read_text()  # the paper table, names read from the runs
    assert tabular_columns(tex) == [PAPER_MAX_COLUMNS]
    assert "BSTDG & Synthetic & 64-64-4 & binary" in tex
    assert "S4NN & Synthetic & 64-64-4 & real" in tex
