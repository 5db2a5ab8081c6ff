"""The W&B workspace and report of a project, built (not saved) from the section panels."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import wandb_workspaces.reports.v2 as wr
import wandb_workspaces.workspaces as ws

from bstdg.dashboard import keys as k
from bstdg.dashboard.panels import acc_vs_t, sections

WORKSPACE_NAME = "bstdg"
REPORT_TITLE = "bstdg: accuracy, spikes and timing"
REPORT_INTRO = (
    "Built by bstdg-dashboard from the platform's metric names. Curves are per epoch "
    "(train and validation); bars, scatters and the parallel-coordinates plot use each "
    "run's final (test) values. `acc` is the strict decision, `acc_ties` the papers' "
    "tie counting.")


def build_workspace(entity: str, project: str, name: str = WORKSPACE_NAME) -> ws.Workspace:
    """A workspace view with one section per dashboard section, runs grouped by nothing."""
    return ws.Workspace(
        entity=entity, project=project, name=name,
        sections=[ws.Section(name=s.name, panels=s.panels, is_open=True) for s in sections()],
        settings=ws.WorkspaceSettings(x_axis=k.EPOCH, max_runs=20),
    )


def kernel_runsets(entity: str, project: str, kernels: tuple[str, ...]) -> list[wr.Runset]:
    """One run set per gradient kernel, so each kernel's runs get their own colour."""
    key = k.CONFIG_KEYS["kernel"]
    return [wr.Runset(entity=entity, project=project, name=f"kernel={kernel}",
                      filters=f"Config('{key}') = '{kernel}'") for kernel in kernels]


def build_report(entity: str, project: str, title: str = REPORT_TITLE,
                 kernels: tuple[str, ...] | None = None) -> wr.Report:
    """A report: per section a heading, what it shows and its panels over all runs; then
    accuracy against T with one run set per kernel (default: every kernel bstdg has)."""
    if kernels is None:
        from bstdg.snn.rules import KERNELS

        kernels = tuple(KERNELS)
    blocks: list[Any] = [wr.P(REPORT_INTRO)]
    for section in sections():
        blocks += [wr.H2(section.name), wr.P(section.description),
                   wr.PanelGrid(runsets=[wr.Runset(entity=entity, project=project)],
                                panels=section.panels)]
    blocks += [wr.H2("Accuracy vs T, by kernel"),
               wr.P("Test accuracy (strict and with ties) against the window length T; "
                    "one run set, and colour, per gradient kernel."),
               wr.PanelGrid(runsets=kernel_runsets(entity, project, kernels),
                            panels=acc_vs_t())]
    return wr.Report(entity=entity, project=project, title=title, blocks=blocks,
                     width="fluid")


@dataclass
class PanelKeys:
    """What a panel reads: history/summary metrics, metric regexes and config keys."""

    metrics: set[str] = field(default_factory=set)
    regexes: set[str] = field(default_factory=set)
    config: set[str] = field(default_factory=set)

    def add(self, ref: Any) -> None:
        """Record one axis/column reference (a name, wr.Config, wr.SummaryMetric)."""
        if ref is None:
            return
        if isinstance(ref, wr.Config):
            self.config.add(ref.name)
        elif isinstance(ref, (wr.SummaryMetric, wr.Metric)):
            self.metrics.add(ref.name)
        else:
            self.metrics.add(str(ref))

    def update(self, other: PanelKeys) -> None:
        self.metrics |= other.metrics
        self.regexes |= other.regexes
        self.config |= other.config


def panel_keys(panel: Any) -> PanelKeys:
    """The metric and config keys one panel reads (line, scatter, bar, parallel coords)."""
    found = PanelKeys()
    if isinstance(panel, wr.LinePlot):
        for ref in [panel.x, *panel.y, panel.groupby]:
            found.add(ref)
        if panel.metric_regex:
            found.regexes.add(panel.metric_regex)
    elif isinstance(panel, wr.ScatterPlot):
        for ref in (panel.x, panel.y, panel.z):
            found.add(ref)
    elif isinstance(panel, wr.BarPlot):
        for ref in [*panel.metrics, panel.groupby]:
            found.add(ref)
    elif isinstance(panel, wr.ParallelCoordinatesPlot):
        for column in panel.columns:
            found.add(column.metric)
    else:
        raise TypeError(f"panel_keys does not know {type(panel).__name__}")
    return found


def all_panels(workspace: ws.Workspace, report: wr.Report) -> list[Any]:
    """Every panel of the workspace's sections and the report's panel grids."""
    panels = [p for section in workspace.sections for p in section.panels]
    panels += [p for block in report.blocks if isinstance(block, wr.PanelGrid)
               for p in block.panels]
    return panels
