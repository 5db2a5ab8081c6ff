"""One call from run directories to tables and plots (used by the CLI and the Hydra callback)."""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from bstdg.report.aggregate import aggregate
from bstdg.report.plots import plot_all
from bstdg.report.published import published_results
from bstdg.report.runs import load_runs, skipped_runs, usable_runs
from bstdg.report.tables import skipped_markdown, summary_markdown, write_tables
from bstdg.report.wandb_runs import WANDB_PREFIX, load_wandb_runs

DATASET_KEY = "choice/data"
PUBLISHED_CHOICES = ("matching", "all", "none")


@dataclass
class Report:
    """What a report read and wrote."""

    runs: pd.DataFrame
    table: pd.DataFrame
    skipped: pd.DataFrame
    by: list[str]
    files: list[Path] = field(default_factory=list)


def published_for(runs: pd.DataFrame, which: str = "matching") -> pd.DataFrame | None:
    """Published rows for the runs' datasets (``matching``), all of them, or none."""
    if which not in PUBLISHED_CHOICES:
        raise ValueError(f"published must be one of {', '.join(PUBLISHED_CHOICES)}, got {which!r}")
    if which == "none":
        return None
    if which == "all":
        return published_results()
    if DATASET_KEY not in runs:
        return None
    return published_results(usable_runs(runs)[DATASET_KEY].dropna().unique())


def load_any(paths: Iterable[str | Path] | str | Path) -> pd.DataFrame:
    """Local run folders and ``wandb:ENTITY/PROJECT`` projects, one table."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    online = [str(p) for p in paths if str(p).startswith(WANDB_PREFIX)]
    local = [p for p in paths if not str(p).startswith(WANDB_PREFIX)]
    frames = ([load_runs(local)] if local else []) + ([load_wandb_runs(online)] if online else [])
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def build_report(
    paths: Iterable[str | Path] | str | Path,
    out: str | Path,
    by: Sequence[str] | None = None,
    metrics: Sequence[str] | None = None,
    plots: bool = True,
    published: str = "matching",
    full_tex: bool = False,
) -> Report:
    """Load every run beneath ``paths`` (``wandb:ENTITY/PROJECT`` entries through the W&B
    API), aggregate, write tables (and figures, PDF and PNG) into ``out``; ``full_tex`` also
    writes ``table_full.tex`` (every metric, plus the published block)."""
    runs = load_any(paths)
    table = aggregate(runs, by=by, metrics=metrics)
    keys = list(table.columns[: list(table.columns).index("n")])
    skipped = skipped_runs(runs)
    files = write_tables(table, out, skipped, published_for(runs, published), runs=runs,
                         full_tex=full_tex)
    if plots and not table.empty:
        files += plot_all(table, runs, out)
    return Report(runs, table, skipped, keys, files)


def write_summary(sweep_dir: str | Path) -> list[Path]:
    """``summary.csv`` and ``summary.md`` of a multirun folder (aggregated, skipped listed)."""
    sweep_dir = Path(sweep_dir)
    runs = load_runs([sweep_dir])
    table = aggregate(runs)
    skipped = skipped_runs(runs)
    md = (f"# Sweep summary: {sweep_dir.name}\n\n{summary_markdown(table)}\n\n"
          f"## Skipped runs ({len(skipped)}, not averaged)\n\n{skipped_markdown(skipped)}\n")
    paths = [sweep_dir / "summary.csv", sweep_dir / "summary.md"]
    _atomic_write(paths[0], table.to_csv(index=False))
    _atomic_write(paths[1], md)
    return paths


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
