"""Figures of aggregated runs, each as PDF and PNG (matplotlib's Agg canvas, no pyplot state).

Every figure has axis labels with units, accuracies in percent, a readable title (what the
groups share on its second line, what tells them apart in the legend) and the spread over
the seeds of a group: a mean ± std band or error bars (sample std; none for one run).

    acc_vs_T               accuracy (%) and mean decision step against T (when T varies)
    acc_vs_hidden_spikes   accuracy (%) against hidden spikes per image, BS4NN's 247.7 beside
    learning_curves        validation accuracy (%) per epoch (CSV logs), band per group
    decision_time_hist     per-sample decision steps (test_samples.npz), integer-aligned bins
    decision_time          mean decision step per group (bars)
    inference_time         µs per sample per group (bars)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from bstdg.report.aggregate import stat_column
from bstdg.report.curves import epoch_curves, mean_curve
from bstdg.report.formatting import format_key
from bstdg.report.runs import RUN_DIR
from bstdg.report.tables import group_identity, group_runs, key_label, setting_text
from bstdg.utils.metrics_file import TEST_SAMPLES_FILE

T_KEY = "cfg/encoder.T"
ACC = "test/acc"
SPIKES = "test/hidden_spikes"
STEP = "test/decision_time"
FORMATS = ("pdf", "png")
# BS4NN's released MNIST 784-600-10 network: mean hidden spikes per test image (README,
# the MNIST headline target).
BS4NN_HIDDEN_SPIKES = 247.7
SPREAD = "mean ± std over seeds"


def integer_bin_edges(values: Sequence[float] | np.ndarray, max_bins: int | None = None
                      ) -> np.ndarray:
    """Histogram bin edges on half-integers (k - 0.5), from floor(min) - 0.5 to
    ceil(max) + 0.5, so that every integer of the range falls in the middle of its own
    bin of width 1. With ``max_bins``, a range wider than that many integers gets bins of
    the smallest integer width that keeps their count within it (edges still half-integers,
    each bin then a run of whole integers). NaN and inf are ignored; ``[-0.5, 0.5]`` when
    nothing is left."""
    if max_bins is not None and max_bins < 1:
        raise ValueError(f"max_bins must be >= 1, got {max_bins}")
    finite = np.asarray(values, dtype=float).ravel()
    finite = finite[np.isfinite(finite)]
    if finite.size == 0:
        return np.array([-0.5, 0.5])
    lo, hi = int(np.floor(finite.min())), int(np.ceil(finite.max()))
    span = hi - lo + 1
    width = 1 if max_bins is None or span <= max_bins else -(-span // max_bins)
    n_bins = -(-span // width)
    return lo - 0.5 + width * np.arange(n_bins + 1, dtype=float)


def _figure(width: float = 6.0, height: float = 4.0) -> Figure:
    fig = Figure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig: Figure, out: str | Path, name: str) -> list[Path]:
    """Write ``name.pdf`` and ``name.png`` (150 dpi) into ``out``."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / f"{name}.{ext}" for ext in FORMATS]
    for path in paths:
        fig.savefig(path, dpi=150)
    return paths


def _keys(agg: pd.DataFrame) -> list[str]:
    return list(agg.columns[: list(agg.columns).index("n")])


def _has(agg: pd.DataFrame, *metrics: str) -> bool:
    return all(stat_column(m, "mean") in agg and agg[stat_column(m, "mean")].notna().any()
               for m in metrics)


def _stat(row: pd.Series, metric: str, stat: str, scale: float = 1.0) -> float:
    value = row.get(stat_column(metric, stat))
    return float("nan") if value is None or pd.isna(value) else float(value) * scale


def plot_labels(agg: pd.DataFrame, runs: pd.DataFrame | None = None,
                drop: Sequence[str] = ()) -> tuple[list[str], str]:
    """(one legend label per row of ``agg``, what every row shares): method, dataset,
    structure, weights and the swept keys (less those in ``drop``), each in the labels where
    it differs between rows, in the shared text where it does not (labels are empty when
    nothing differs)."""
    ident = group_identity(agg, runs)
    dropped = {key_label(k, _keys(agg)) for k in drop}
    fields = {name: list(ident[name]) for name in ("method", "dataset", "structure")}
    fields["weights"] = [w if w == "–" else f"{w} weights" for w in ident["weights"]]
    settings = [[(n, v) for n, v in pairs if n not in dropped] for pairs in ident["setting"]]
    names = dict.fromkeys(n for pairs in settings for n, _ in pairs)
    for name in names:
        values = [dict(pairs).get(name, "–") for pairs in settings]
        fields[name] = [setting_text([(name, v)]) for v in values]
    labels: list[list[str]] = [[] for _ in range(len(agg))]
    common = []
    for values in fields.values():
        if len(set(values)) > 1:
            for parts, value in zip(labels, values, strict=True):
                parts.append(value)
        elif values and not values[0].endswith("–"):
            common.append(values[0])
    shared = " · ".join(common)
    return [" · ".join(p) for p in labels], shared


def _title(ax_or_fig: Axes | Figure, title: str, shared: str) -> None:
    text = f"{title}\n{shared}" if shared else title
    if isinstance(ax_or_fig, Figure):
        ax_or_fig.suptitle(text)
    else:
        ax_or_fig.set_title(text)


def _legend(ax: Axes) -> None:
    if ax.get_legend_handles_labels()[1]:
        ax.legend(fontsize="small")


def _with_n(label: str, n: int) -> str:
    return f"{label} (n = {n})" if label else f"n = {n} runs"


def _band(ax: Axes, x: np.ndarray, mean: np.ndarray, std: np.ndarray, label: str | None,
          colour: str) -> None:
    """A line with markers and a shaded mean ± std band (no band where std is NaN)."""
    ax.plot(x, mean, marker="o", markersize=4, color=colour, label=label)
    spread = np.nan_to_num(std, nan=0.0)
    if np.any(spread > 0):
        ax.fill_between(x, mean - spread, mean + spread, color=colour, alpha=0.2,
                        linewidth=0)


def plot_acc_vs_T(agg: pd.DataFrame, out: str | Path, runs: pd.DataFrame | None = None,
                  metric: str = ACC) -> list[Path]:
    """Test accuracy (%) and the mean decision step against the window length T (two
    panels, log-2 T axis), one line with a mean ± std band per group of the other keys;
    needs T among the grouping keys with at least two values."""
    keys = _keys(agg)
    if T_KEY not in keys or agg[T_KEY].nunique() < 2 or not _has(agg, metric):
        return []
    labels, shared = plot_labels(agg, runs, drop=[T_KEY])
    series: dict[str, list[int]] = {}
    for position, label in enumerate(labels):
        series.setdefault(label, []).append(position)
    panels = [(metric, 100.0, "test accuracy (%)", "Accuracy")]
    if _has(agg, STEP):
        panels.append((STEP, 1.0, "mean decision step (time steps)", "Decision step"))
    fig = _figure(5.0 * len(panels), 4.2)
    axes = fig.subplots(1, len(panels), squeeze=False)[0]
    ticks = sorted(pd.to_numeric(agg[T_KEY]).unique())
    for k, (label, positions) in enumerate(series.items()):
        part = agg.iloc[positions].assign(_T=pd.to_numeric(agg[T_KEY].iloc[positions]))
        part = part.sort_values("_T")
        for ax, (name, scale, _, _) in zip(axes, panels, strict=True):
            mean = np.array([_stat(r, name, "mean", scale) for _, r in part.iterrows()])
            std = np.array([_stat(r, name, "std", scale) for _, r in part.iterrows()])
            _band(ax, part["_T"].to_numpy(float), mean, std, label, f"C{k % 10}")
    for ax, (_, _, ylabel, title) in zip(axes, panels, strict=True):
        ax.set_xscale("log", base=2)
        ax.set_xticks(ticks, [format_key(float(t)) for t in ticks])
        ax.minorticks_off()
        ax.set(xlabel="window length T (time steps)", ylabel=ylabel, title=title)
        ax.grid(alpha=0.3)
    _legend(axes[0])
    _title(fig, f"Accuracy and decision step vs window length T ({SPREAD})", shared)
    return save_figure(fig, out, "acc_vs_T")


def plot_acc_vs_hidden_spikes(
    agg: pd.DataFrame, out: str | Path, runs: pd.DataFrame | None = None,
    spikes: str = SPIKES, metric: str = ACC, reference: float | None = BS4NN_HIDDEN_SPIKES,
) -> list[Path]:
    """Test accuracy (%) against hidden spikes per test image: one point per group with
    error bars (std over seeds) both ways, and BS4NN's released 247.7 as a labelled dashed
    line (``reference``; None draws none)."""
    if not _has(agg, metric, spikes):
        return []
    labels, shared = plot_labels(agg, runs)
    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    for k, ((_, row), label) in enumerate(zip(agg.iterrows(), labels, strict=True)):
        x, y = _stat(row, spikes, "mean"), _stat(row, metric, "mean", 100.0)
        xerr, yerr = _stat(row, spikes, "std"), _stat(row, metric, "std", 100.0)
        ax.errorbar([x], [y], xerr=[0 if np.isnan(xerr) else xerr],
                    yerr=[0 if np.isnan(yerr) else yerr], marker="o", linestyle="none",
                    capsize=3, color=f"C{k % 10}", label=label)
    if reference is not None:
        ax.axvline(reference, color="0.35", linestyle="--", linewidth=1,
                   label=f"BS4NN released: {reference:g} hidden spikes / image")
        ax.annotate(f"BS4NN {reference:g}", xy=(reference, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(-3, -3),
                    textcoords="offset points", rotation=90, ha="right", va="top",
                    fontsize="small", color="0.35")
    right = max(ax.get_xlim()[1], 0.0 if reference is None else reference * 1.08)
    ax.set_xlim(0, right)
    ax.set(xlabel="hidden spikes per test image", ylabel="test accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _title(ax, f"Accuracy vs hidden spikes ({SPREAD})", shared)
    return save_figure(fig, out, "acc_vs_hidden_spikes")


def plot_learning_curves(agg: pd.DataFrame, runs: pd.DataFrame, out: str | Path,
                         metric: str = "val/acc") -> list[Path]:
    """Validation accuracy (%) per epoch from the runs' CSV-logger files: per group, the
    mean over its runs with a ± std band; nothing when no run has a CSV log of ``metric``."""
    labels, shared = plot_labels(agg, runs)
    curves = []
    for label, group in zip(labels, group_runs(agg, runs), strict=True):
        tables = [t for t in (epoch_curves(d) for d in group[RUN_DIR]) if t is not None]
        stats = mean_curve(tables, metric)
        if stats is not None:
            curves.append((label, stats))
    if not curves:
        return []
    fig = _figure(6.4, 4.4)
    ax = fig.add_subplot()
    for k, (label, stats) in enumerate(curves):
        n = int(stats["n"].max())
        _band(ax, stats["epoch"].to_numpy(float) + 1, stats["mean"].to_numpy(float) * 100,
              stats["std"].to_numpy(float) * 100, _with_n(label, n), f"C{k % 10}")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel="epoch", ylabel="validation accuracy (%)")
    ax.grid(alpha=0.3)
    ax.legend(fontsize="small")
    _title(ax, f"Learning curves ({SPREAD})", shared)
    return save_figure(fig, out, "learning_curves")


def _sample_times(group: pd.DataFrame) -> list[np.ndarray]:
    """Per run of ``group`` with a ``test_samples.npz``: its per-sample decision steps."""
    times = []
    for run_dir in group[RUN_DIR]:
        path = Path(run_dir) / TEST_SAMPLES_FILE
        if path.is_file():
            with np.load(path) as data:
                if "decision_time" in data.files:
                    times.append(np.asarray(data["decision_time"], dtype=float))
    return times


def plot_decision_time_histogram(agg: pd.DataFrame, runs: pd.DataFrame, out: str | Path
                                 ) -> list[Path]:
    """Histogram of the decision step (first output spike; T when none) with one bin per
    integer step (:func:`integer_bin_edges`). Per group: the mean over its runs of each
    run's share of test samples per bin (%), with error bars of the std over runs, from
    ``RUN/test_samples.npz``. Without any such file: a histogram of the runs' mean decision
    steps (``test/decision_time``), which the title says."""
    labels, shared = plot_labels(agg, runs)
    groups = group_runs(agg, runs)
    per_sample = [(label, _sample_times(g)) for label, g in zip(labels, groups, strict=True)]
    per_sample = [(label, t) for label, t in per_sample if t]
    if per_sample:
        edges = integer_bin_edges(np.concatenate([np.concatenate(t) for _, t in per_sample]))
        title, ylabel = f"Decision step per test sample ({SPREAD})", "test samples (%)"
        xlabel = "decision step (first output spike, time steps; T when none)"
        series = [(label, np.array([np.histogram(t, bins=edges)[0] / max(len(t), 1) * 100
                                    for t in times])) for label, times in per_sample]
    else:
        means = [(label, pd.to_numeric(g[STEP], errors="coerce").dropna().to_numpy(float))
                 for label, g in zip(labels, groups, strict=True) if STEP in g]
        means = [(label, m) for label, m in means if m.size]
        if not means:
            return []
        edges = integer_bin_edges(np.concatenate([m for _, m in means]))
        title = "Mean decision step per run (no per-sample test_samples.npz)"
        ylabel = "runs"
        xlabel = "mean decision step of a run (time steps)"
        series = [(label, np.histogram(m, bins=edges)[0][None, :].astype(float))
                  for label, m in means]
    fig = _figure(6.4, 4.2)
    ax = fig.add_subplot()
    centres = (edges[:-1] + edges[1:]) / 2
    for k, (label, counts) in enumerate(series):
        colour = f"C{k % 10}"
        mean = counts.mean(axis=0)
        ax.stairs(mean, edges, color=colour, linewidth=1.5,
                  label=_with_n(label, len(counts)) if per_sample else label)
        if per_sample and len(counts) > 1:
            std = counts.std(axis=0, ddof=1)
            shown = mean > 0
            ax.errorbar(centres[shown], mean[shown], yerr=std[shown], linestyle="none",
                        color=colour, capsize=2, linewidth=0.8)
    if len(edges) <= 40:
        step = 1 if len(edges) <= 21 else 2
        ax.set_xticks(centres[::step])
    ax.xaxis.set_major_formatter(lambda value, _: format_key(float(value)))
    ax.set_ylim(bottom=0)
    if not per_sample:
        ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set(xlabel=xlabel, ylabel=ylabel)
    ax.grid(alpha=0.3, axis="y")
    _legend(ax)
    _title(ax, title, shared)
    return save_figure(fig, out, "decision_time_hist")


def _bars(agg: pd.DataFrame, runs: pd.DataFrame | None, metrics: Sequence[str],
          legend: Sequence[str], xlabel: str, title: str, out: str | Path, name: str
          ) -> list[Path]:
    names, shared = plot_labels(agg, runs)
    names = [name or shared or "all runs" for name in names]
    fig = _figure(6.4, 1.6 + 0.4 * len(names) * len(metrics))
    ax = fig.add_subplot()
    height = 0.8 / len(metrics)
    for k, (metric, label) in enumerate(zip(metrics, legend, strict=True)):
        pos = [i + k * height for i in range(len(names))]
        ax.barh(pos, agg[stat_column(metric, "mean")].fillna(0), height=height,
                xerr=agg[stat_column(metric, "std")].fillna(0), capsize=3, label=label)
    ax.set_yticks([i + height * (len(metrics) - 1) / 2 for i in range(len(names))], names)
    ax.invert_yaxis()
    ax.set(xlabel=xlabel)
    ax.grid(alpha=0.3, axis="x")
    if len(metrics) > 1:
        ax.legend(fontsize="small")
    _title(ax, title, shared)
    return save_figure(fig, out, name)


def plot_decision_time(agg: pd.DataFrame, out: str | Path, runs: pd.DataFrame | None = None
                       ) -> list[Path]:
    """Mean decision step (first output spike) per group, with its std over seeds."""
    if not _has(agg, STEP):
        return []
    return _bars(agg, runs, [STEP], ["decision step"], "mean decision step (time steps)",
                 f"Decision step per group ({SPREAD})", out, "decision_time")


def plot_inference_time(agg: pd.DataFrame, out: str | Path, runs: pd.DataFrame | None = None
                        ) -> list[Path]:
    """Inference µs per sample per group: full window and early exit."""
    candidates = [("time/infer_us_per_sample", "full window"),
                  ("time/infer_early_exit_us_per_sample", "early exit")]
    present = [(m, label) for m, label in candidates if _has(agg, m)]
    if not present:
        return []
    metrics, legend = zip(*present, strict=True)
    return _bars(agg, runs, metrics, legend, "inference time per sample (µs)",
                 f"Inference time per group ({SPREAD})", out, "inference_time")


def plot_all(agg: pd.DataFrame, runs: pd.DataFrame, out: str | Path) -> list[Path]:
    """Every figure that the runs allow (PDF and PNG each); returns the files written."""
    return [
        *plot_acc_vs_T(agg, out, runs),
        *plot_acc_vs_hidden_spikes(agg, out, runs),
        *plot_learning_curves(agg, runs, out),
        *plot_decision_time_histogram(agg, runs, out),
        *plot_decision_time(agg, out, runs),
        *plot_inference_time(agg, out, runs),
    ]
