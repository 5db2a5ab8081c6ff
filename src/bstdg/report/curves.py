"""Learning curves from the CSV logger (``RUN/csv/version_*/metrics.csv``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

CSV_PATTERN = "csv/*/metrics.csv"


def csv_metrics_file(run_dir: str | Path) -> Path | None:
    """The run's last CSV-logger metrics file (logger=csv or logger=many), or None."""
    files = sorted(Path(run_dir).glob(CSV_PATTERN))
    return files[-1] if files else None


def epoch_curves(run_dir: str | Path) -> pd.DataFrame | None:
    """One row per epoch: the last value of every epoch-level metric logged that epoch."""
    file = csv_metrics_file(run_dir)
    if file is None:
        return None
    log = pd.read_csv(file)
    if "epoch" not in log:
        return None
    log = log.dropna(subset=["epoch"])
    return log.groupby("epoch").last(skipna=True).reset_index()
