"""sweeps/caltech_pixel_probe.py runs on the platform's Caltech splits (fake JPEG folder)."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

PROBE = Path(__file__).resolve().parents[2] / "sweeps" / "caltech_pixel_probe.py"


def test_probe_reports_every_split_and_model(caltech_root, capsys: pytest.CaptureFixture) -> None:
    main = runpy.run_path(str(PROBE))["main"]
    results = main(["--seeds", "1", "2", "--resize", "6", "10", "--train-per-class", "5",
                    "--data-dir", str(caltech_root)])
    out = capsys.readouterr().out
    assert set(results) == {"logistic", "mlp100"} and all(len(v) == 2 for v in results.values())
    assert "split 1: logistic" in out and "split 2: logistic" in out and "mean: logistic" in out
