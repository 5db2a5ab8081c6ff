"""Plots of aggregated runs (PNG and SVG, matplotlib's Agg canvas, no pyplot state)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bstdg.report.aggregate import stat_column
from bstdg.report.curves import epoch_curves
from bstdg.report.formatting import format_key, key_header
from bstdg.report.runs import RUN_DIR, usable_runs
from bstdg.utils.metrics_file import TEST_SAMPLES_FILE

T_KEY = "cfg/encoder.T"
ACC = "test/acc"


def _figure(width: float = 6.0, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out: str | Path, name: str) -> list[Path]:
    """Write ``name.png`` and ``name.svg`` into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.png", out / f"{name}.svg"]
    for path in paths:
        fig.savefig(path, dpi=120)
    return paths


def group_label(row: pd.Series, keys: Sequence[str]) -> str:
    """``experiment, key=value, ...`` for one group."""
    parts = [format_key(row[k]) if k == "experiment" else f"{key_header(k)}={format_key(row[k])}"
             for k in keys]
    return ", ".join(parts) or "all runs"


def _keys(agg: pd.DataFrame) -> list[str]:
    return list(agg.columns[: list(agg.columns).index("n")])


def _has(agg: pd.DataFrame, *metrics: str) -> bool:
    return all(stat_column(m, "mean") in agg and agg[stat_column(m, "mean")].notna().any()
               for m in metrics)


def _errorbar(ax, x, y, xerr=None, yerr=None, **kwargs) -> None:
    ax.errorbar(x, y, xerr=None if xerr is None else xerr.fillna(0),
                yerr=None if yerr is None else yerr.fillna(0), capsize=3, **kwargs)


def plot_acc_vs_T(agg: pd.DataFrame, out: str | Path, metric: str = ACC) -> list[Path]:
    """Accuracy against the window length T, one line per other group; needs T to vary."""
    keys = _keys(agg)
    if T_KEY not in keys or agg[T_KEY].nunique() < 2 or not _has(agg, metric):
        return []
    others = [k for k in keys if k != T_KEY]
    fig = _figure()
    ax = fig.add_subplot()
    series = agg.groupby(others, dropna=False, sort=True) if others else [((), agg)]
    for _, part in series:
        part = part.assign(_T=pd.to_numeric(part[T_KEY])).sort_values("_T")
        _errorbar(ax, part["_T"], part[stat_column(metric, "mean")],
                  yerr=part[stat_column(metric, "std")], marker="o",
                  label=group_label(part.iloc[0], others))
    ticks = sorted(pd.to_numeric(agg[T_KEY]).unique())
    ax.set_xscale("log", base=2)
    ax.set_xticks(ticks, [format_key(float(t)) for t in ticks])
    ax.minorticks_off()
    ax.set(xlabel="T (time steps)", ylabel=metric, title=f"{metric} vs T (mean ± std)")
    ax.legend(fontsize="small")
    return save_figure(fig, out, "acc_vs_T")


def plot_acc_vs_hidden_spikes(
    agg: pd.DataFrame, out: str | Path, spikes: str = "test/hidden_spikes", metric: str = ACC
) -> list[Path]:
    """The accuracy / hidden-spike trade-off: one point per group, mean ± std both ways."""
    if not _has(agg, metric, spikes):
        return []
    keys = _keys(agg)
    fig = _figure()
    ax = fig.add_subplot()
    for _, row in agg.iterrows():
        _errorbar(ax, [row[stat_column(spikes, "mean")]], [row[stat_column(metric, "mean")]],
                  xerr=pd.Series([row[stat_column(spikes, "std")]]),
                  yerr=pd.Series([row[stat_column(metric, "std")]]),
                  marker="o", linestyle="none", label=group_label(row, keys))
    ax.set(xlabel=f"{spikes} (per sample)", ylabel=metric, title="accuracy vs hidden spikes")
    ax.legend(fontsize="small")
    return save_figure(fig, out, "acc_vs_hidden_spikes")


def _bars(agg: pd.DataFrame, metrics: Sequence[str], labels: Sequence[str], xlabel: str,
          title: str, out: str | Path, name: str) -> list[Path]:
    keys = _keys(agg)
    names = [group_label(row, keys) for _, row in agg.iterrows()]
    fig = _figure(6.0, 1.5 + 0.4 * len(names) * len(metrics))
    ax = fig.add_subplot()
    height = 0.8 / len(metrics)
    for k, (metric, label) in enumerate(zip(metrics, labels, strict=True)):
        pos = [i + k * height for i in range(len(names))]
        ax.barh(pos, agg[stat_column(metric, "mean")].fillna(0), height=height,
                xerr=agg[stat_column(metric, "std")].fillna(0), capsize=3, label=label)
    ax.set_yticks([i + height * (len(metrics) - 1) / 2 for i in range(len(names))], names)
    ax.invert_yaxis()
    ax.set(xlabel=xlabel, title=title)
    if len(metrics) > 1:
        ax.legend(fontsize="small")
    return save_figure(fig, out, name)


def plot_decision_time(agg: pd.DataFrame, out: str | Path) -> list[Path]:
    """Mean decision step (first output spike) per group, with its std over seeds."""
    if not _has(agg, "test/decision_time"):
        return []
    return _bars(agg, ["test/decision_time"], ["decision time"], "time step",
                 "decision time per group (mean ± std over runs)", out, "decision_time")


def plot_decision_time_histogram(runs: pd.DataFrame, out: str | Path, by: Sequence[str],
                                 ) -> list[Path]:
    """Histogram of per-sample decision steps (``RUN/test_samples.npz``), one per group,
    pooled over its runs; samples with no output spike are counted at T."""
    pooled: dict[str, list[np.ndarray]] = {}
    for _, row in usable_runs(runs).iterrows():
        path = Path(row[RUN_DIR]) / TEST_SAMPLES_FILE
        if path.is_file():
            with np.load(path) as data:
                pooled.setdefault(group_label(row, by), []).append(data["decision_time"])
    if not pooled:
        return []
    fig = _figure()
    ax = fig.add_subplot()
    for label, parts in pooled.items():
        times = np.concatenate(parts)
        ax.hist(times, bins=min(64, int(times.max()) + 1), histtype="step", density=True,
                label=f"{label} (median {np.median(times):g})")
    ax.set(xlabel="decision step (first output spike)", ylabel="share of test samples",
           title="decision time per test sample")
    ax.legend(fontsize="small")
    return save_figure(fig, out, "decision_time_hist")


def plot_inference_time(agg: pd.DataFrame, out: str | Path) -> list[Path]:
    """Inference µs per sample per group: full window and early exit."""
    candidates = [("time/infer_us_per_sample", "full window"),
                  ("time/infer_early_exit_us_per_sample", "early exit")]
    present = [(m, label) for m, label in candidates if _has(agg, m)]
    if not present:
        return []
    metrics, labels = zip(*present, strict=True)
    return _bars(agg, metrics, labels, "µs per sample", "inference time per group", out,
                 "inference_time")


def plot_learning_curves(
    runs: pd.DataFrame, out: str | Path, by: Sequence[str],
    metrics: Sequence[str] = ("val/acc", "train/loss"),
) -> list[Path]:
    """Per-epoch curves of every run that has a CSV-logger ``metrics.csv``, one colour per
    group; nothing when no run has one."""
    curves = []
    for _, row in usable_runs(runs).iterrows():
        table = epoch_curves(row[RUN_DIR])
        if table is not None:
            curves.append((group_label(row, by), table))
    shown = [m for m in metrics if any(m in t for _, t in curves)]
    if not shown:
        return []
    fig = _figure(5.0 * len(shown), 4.0)
    axes = fig.subplots(1, len(shown), squeeze=False)[0]
    colours: dict[str, str] = {}
    for label, table in curves:
        colour = colours.setdefault(label, f"C{len(colours) % 10}")
        for ax, metric in zip(axes, shown, strict=True):
            if metric in table:
                ax.plot(table["epoch"], table[metric], color=colour, marker=".",
                        label=label if label not in ax.get_legend_handles_labels()[1] else None)
    for ax, metric in zip(axes, shown, strict=True):
        ax.set(xlabel="epoch", ylabel=metric, title=metric)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend(fontsize="small")
    return save_figure(fig, out, "learning_curves")


def plot_all(agg: pd.DataFrame, runs: pd.DataFrame, out: str | Path) -> list[Path]:
    """Every plot that the runs allow; returns the files written."""
    by = _keys(agg)
    return [
        *plot_acc_vs_T(agg, out),
        *plot_acc_vs_hidden_spikes(agg, out),
        *plot_learning_curves(runs, out, by),
        *plot_decision_time(agg, out),
        *plot_decision_time_histogram(runs, out, by),
        *plot_inference_time(agg, out),
    ]
