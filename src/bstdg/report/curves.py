"""Learning curves from the CSV logger (``RUN/csv/version_*/metrics.csv``)."""

from __future__ import annotations

from collections.abc import Sequence
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


def mean_curve(tables: Sequence[pd.DataFrame], metric: str) -> pd.DataFrame | None:
    """Per epoch, the ``mean``, sample ``std`` (ddof=1; NaN for one run) and ``n`` of
    ``metric`` over the per-run tables of :func:`epoch_curves` that log it; None when
    none does."""
    parts = [t[["epoch", metric]].dropna() for t in tables if metric in t]
    parts = [p for p in parts if not p.empty]
    if not parts:
        return None
    stats = pd.concat(parts).groupby("epoch")[metric].agg(["mean", "std", "count"])
    return stats.rename(columns={"count": "n"}).reset_index()
