"""Every panel of the workspace and the report reads a metric or config key that runs log."""

from __future__ import annotations

import re
import warnings

import pytest

with warnings.catch_warnings():  # wandb-workspaces still uses pydantic-v1 validators
    warnings.simplefilter("ignore", DeprecationWarning)
    # a dependency of the dev extra (= the dashboard extra): missing, the tests fail, not skip
    import wandb_workspaces  # noqa: F401

from bstdg.dashboard import keys  # noqa: E402
from bstdg.dashboard.build import (  # noqa: E402
    PanelKeys,
    all_panels,
    build_report,
    build_workspace,
    panel_keys,
)
from bstdg.dashboard.panels import sections  # noqa: E402
from bstdg.snn.rules import KERNELS  # noqa: E402
from bstdg.tracking.logged_config import wandb_config  # noqa: E402


@pytest.fixture(scope="module")
def built():
    return build_workspace("entity", "project"), build_report("entity", "project")


@pytest.fixture(scope="module")
def used(built) -> PanelKeys:
    found = PanelKeys()
    for panel in all_panels(*built):
        found.update(panel_keys(panel))
    return found


def test_sections_and_their_panels(built) -> None:
    workspace, report = built
    assert [s.name for s in workspace.sections] == ["Accuracy", "Spikes", "Timing", "Sweep"]
    kinds = {type(p).__name__ for p in workspace.sections[-1].panels}
    assert kinds == {"ParallelCoordinatesPlot", "ScatterPlot", "BarPlot"}
    assert all(p.title for p in all_panels(*built))
    grids = [b for b in report.blocks if type(b).__name__ == "PanelGrid"]
    assert len(grids) == len(sections()) + 1
    assert [rs.name for rs in grids[-1].runsets] == [f"kernel={k}" for k in KERNELS]


def test_every_metric_is_logged_by_a_run(used: PanelKeys, logged) -> None:
    assert used.metrics, "no metric found in the panels"
    assert sorted(used.metrics - logged.metrics) == []


def test_every_metric_regex_matches_a_logged_metric(used: PanelKeys, logged) -> None:
    assert used.regexes
    for regex in used.regexes:
        assert [m for m in logged.metrics if re.fullmatch(regex, m)], regex


def test_every_config_key_is_a_logged_hyperparameter(used: PanelKeys, logged) -> None:
    assert used.config == set(keys.CONFIG_KEYS.values())
    assert sorted(used.config - logged.config) == []


def test_config_keys_exist_in_the_wandb_config(used: PanelKeys, logged) -> None:
    """The W&B config is nested ({"encoder": {"T": ...}}): wr.Config("encoder.T") reads it."""
    tree = wandb_config(logged.cfg)
    for key in used.config:
        node = tree
        for part in key.split("."):
            assert isinstance(node, dict) and part in node, key
            node = node[part]


def test_workspace_serialises_offline(built) -> None:
    workspace, report = built
    spec = workspace._to_model().model_dump_json(by_alias=True)
    assert "config:encoder.value.T" in spec and "summary:test/acc" in spec
    for panel in all_panels(workspace, report):  # report run sets need the W&B API
        panel._to_model()


def test_panel_keys_refuses_unknown_panels() -> None:
    with pytest.raises(TypeError, match="MarkdownPanel"):
        import wandb_workspaces.reports.v2 as wr

        panel_keys(wr.MarkdownPanel(markdown="x"))
