"""Hand-written run directories (metrics.json, CSV-logger files) for report tests."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any


def write_run(root: Path, name: str, **metrics: Any) -> Path:
    """``root/name/metrics.json`` holding ``metrics`` (a finished run unless told)."""
    run = root / name
    run.mkdir(parents=True, exist_ok=True)
    record = {"status": "finished", "experiment": "exp_a", **metrics}
    (run / "metrics.json").write_text(json.dumps(record))
    return run


def finished(seed: int, T: int, acc: float, spikes: float, **extra: Any) -> dict[str, Any]:
    """A finished run's metrics with its seed and window length as ``cfg/`` entries."""
    return {"seed": seed, "cfg/seed": seed, "cfg/data.seed": seed, "cfg/encoder.T": T,
            "cfg/model.net.hidden": [64], "test/acc": acc, "test/hidden_spikes": spikes,
            "test/decision_time": T / 4, **extra}


def write_csv_log(run: Path, accs: list[float]) -> Path:
    """A CSV-logger ``csv/version_0/metrics.csv`` with one val/acc row per epoch."""
    folder = run / "csv" / "version_0"
    folder.mkdir(parents=True)
    lines = ["epoch,step,train/loss,val/acc"]
    for epoch, acc in enumerate(accs):
        step = epoch * 8 + 7
        lines += [f"{epoch},{step},{1.0 / (epoch + 1)},", f"{epoch},{step},,{acc}"]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    return folder / "metrics.csv"
