"""The panels of each dashboard section, built with wandb-workspaces' report classes.

Curves (``LinePlot``) read a run's history against ``epoch``; final numbers (``BarPlot``,
``ScatterPlot``, ``ParallelCoordinatesPlot``) read its summary, where ``test/*`` and the
``time/infer_*`` figures land once the run is tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import wandb_workspaces.reports.v2 as wr

from bstdg.dashboard import keys as k


@dataclass(frozen=True)
class SectionSpec:
    """A titled group of panels: a workspace section, or a heading + panel grid in a report."""

    name: str
    description: str
    panels: list[Any] = field(default_factory=list)


def _curve(title: str, metrics: list[str], **kwargs: Any) -> wr.LinePlot:
    """Train/val curves of history metrics against the epoch."""
    return wr.LinePlot(title=title, x=k.EPOCH, y=list[Any](metrics), title_x="epoch",
                       **kwargs)


def _final(title: str, metrics: list[str], **kwargs: Any) -> wr.BarPlot:
    """Bars of each run's final (summary) values."""
    return wr.BarPlot(title=title, metrics=list[Any](metrics), orientation="v", **kwargs)


def config(role: str) -> wr.Config:
    """The config column of a swept setting (``T``, ``kernel``, ...; see keys.CONFIG_KEYS)."""
    return wr.Config(k.CONFIG_KEYS[role])


def accuracy() -> SectionSpec:
    return SectionSpec("Accuracy", (
        "Strict accuracy (earliest output spike, ties broken by potential) and the papers' "
        "tie-counting accuracy per epoch, train and validation; the best validation "
        "accuracy so far; the loss; and each run's test accuracy."), [
        _curve("acc vs epoch (train, val)", k.curves(k.ACC)),
        _curve("acc_ties vs epoch (train, val)", k.curves(k.ACC_TIES)),
        _curve("best val acc", [k.VAL_ACC_BEST]),
        _curve("loss (train, val)", k.curves(k.LOSS)),
        _final("test acc / acc_ties", [k.final_metric(k.ACC), k.final_metric(k.ACC_TIES)]),
    ])


def spikes() -> SectionSpec:
    return SectionSpec("Spikes", (
        "Hidden neurons that fire per sample, in all and before the decision; per-layer "
        "spikes (the last layer is the output); the decision step and the share of samples "
        "with no output spike; dead and saturated hidden neurons; synaptic operations."), [
        _curve("hidden spikes per sample", k.curves(k.HIDDEN_SPIKES)),
        _curve("hidden spikes before the decision", k.curves(k.HIDDEN_SPIKES_BEFORE)),
        wr.LinePlot(title="val spikes per layer", x=k.EPOCH, title_x="epoch",
                    metric_regex=k.LAYER_SPIKES_REGEX),
        _curve("decision step", k.curves(k.DECISION_TIME)),
        _curve("no output spike (fraction)", k.curves(k.NO_OUTPUT)),
        _curve("dead / saturated hidden neurons (train)",
               [k.stage_metric("train", k.DEAD), k.stage_metric("train", k.SATURATED)]),
        _curve("synaptic operations per sample", k.curves(k.SYNOPS)),
        _final("test hidden spikes: all / before decision",
               [k.final_metric(k.HIDDEN_SPIKES), k.final_metric(k.HIDDEN_SPIKES_BEFORE)]),
    ])


def timing() -> SectionSpec:
    return SectionSpec("Timing", (
        "Wall time per training epoch and training throughput; inference time per sample "
        "over the full window and with each sample stopped at its first output spike."), [
        _curve("epoch time (s)", [k.EPOCH_TIME]),
        _curve("training samples / s", [k.THROUGHPUT]),
        _final("inference µs / sample: full window, early exit",
               [k.INFER_US, k.INFER_EARLY_EXIT_US]),
    ])


def sweep() -> SectionSpec:
    acc = wr.SummaryMetric(k.final_metric(k.ACC))
    spikes_ = wr.SummaryMetric(k.final_metric(k.HIDDEN_SPIKES))
    columns = [wr.ParallelCoordinatesPlotColumn(metric=wr.Config(key), display_name=role)
               for role, key in k.CONFIG_KEYS.items()]
    columns += [wr.ParallelCoordinatesPlotColumn(metric=acc, display_name="test acc"),
                wr.ParallelCoordinatesPlotColumn(metric=spikes_, display_name="hidden spikes")]
    return SectionSpec("Sweep", (
        "One line per run through the swept settings to its test accuracy and hidden "
        "spikes; accuracy against hidden spikes (the paper's trade-off); accuracy against "
        "the window T; mean test accuracy per gradient kernel."), [
        wr.ParallelCoordinatesPlot(title="swept settings -> test acc, hidden spikes",
                                   columns=columns),
        wr.ScatterPlot(title="test acc vs hidden spikes", x=spikes_, y=acc),
        wr.ScatterPlot(title="test acc vs T", x=config("T"), y=acc, log_x=True),
        _final("test acc by kernel (mean ± std)", [k.final_metric(k.ACC)],
               groupby=config("kernel"), groupby_aggfunc="mean",
               groupby_rangefunc="stddev"),
    ])


def acc_vs_t() -> list[Any]:
    """The report's "accuracy vs T, by kernel" panels (one run set per kernel colours them)."""
    return [wr.ScatterPlot(title="test acc vs T, by kernel", x=config("T"),
                           y=wr.SummaryMetric(k.final_metric(k.ACC)), log_x=True),
            wr.ScatterPlot(title="test acc_ties vs T, by kernel", x=config("T"),
                           y=wr.SummaryMetric(k.final_metric(k.ACC_TIES)), log_x=True)]


def sections() -> list[SectionSpec]:
    """Every section, in the order they appear."""
    return [accuracy(), spikes(), timing(), sweep()]
