"""sweeps/caltech_probe.py writes run records that bstdg-report reads (fake JPEG folder)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

from bstdg.report.runs import load_runs, usable_runs

PROBE = Path(__file__).resolve().parents[2] / "sweeps" / "caltech_probe.py"


def test_probe_writes_a_finished_run_per_input_model_and_seed(caltech_root: Path,
                                                               tmp_path: Path) -> None:
    main = runpy.run_path(str(PROBE))["main"]
    written = main(["--out", str(tmp_path), "--seeds", "1", "2", "--sizes", "6x10",
                    "--filters", "none", "on_off", "--train-per-class", "5", "--epochs", "20",
                    "--data-dir", str(caltech_root)])
    assert len(written) == 2 * 2 * 2  # filters x seeds x models
    record = json.loads((tmp_path / "random_6x10_on_off" / "mlp100" / "2" / "metrics.json")
                        .read_text())
    assert record["experiment"] == "caltech_probe_mlp100" and record["seed"] == 2
    assert record["cfg/data.dog_filter"] == "on_off" and record["cfg/data.resize"] == [6, 10]
    assert 0.0 <= record["test/acc"] <= 1.0 and 0.0 <= record["val/acc_best"] <= 1.0
    runs = usable_runs(load_runs(tmp_path))
    assert len(runs) == 8 and set(runs["experiment"]) == {"caltech_probe_logistic",
                                                          "caltech_probe_mlp100"}
