"""bstdg-dashboard: build the project's W&B workspace and report, and save them."""

from __future__ import annotations

import argparse
import os
from collections.abc import Sequence
from typing import Any

INSTALL_HINT = ("bstdg-dashboard needs the wandb-workspaces package: "
                "pip install -e '.[dashboard]'  (or: pip install wandb-workspaces)")
DEFAULT_PROJECT = "bstdg"  # conf/logger/wandb.yaml's project


class DashboardError(RuntimeError):
    """A problem the user can fix (missing package, entity, login)."""


DRY_RUN_ENTITY = "ENTITY"  # a dry run saves nothing, so it needs no real entity


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="bstdg-dashboard",
        description="Build the W&B workspace and report of a bstdg project (accuracy, "
                    "spikes, timing, sweep panels) and save them to W&B.")
    parser.add_argument("--entity", default=os.environ.get("WANDB_ENTITY"),
                        help="W&B user or team owning the project (default: $WANDB_ENTITY)")
    parser.add_argument("--project", default=os.environ.get("WANDB_PROJECT", DEFAULT_PROJECT),
                        help="W&B project the runs were logged to (default: $WANDB_PROJECT "
                             f"or {DEFAULT_PROJECT})")
    parser.add_argument("--name", default=None, help="workspace view name (default: bstdg)")
    parser.add_argument("--title", default=None, help="report title")
    parser.add_argument("--no-workspace", action="store_true", help="do not save the workspace")
    parser.add_argument("--no-report", action="store_true", help="do not save the report")
    parser.add_argument("--dry-run", action="store_true",
                        help="build both and list their panels; save nothing (no network; "
                             f"without --entity the placeholder {DRY_RUN_ENTITY!r} is used)")
    args = parser.parse_args(argv)
    if not args.entity and args.dry_run:
        args.entity = DRY_RUN_ENTITY
    if not args.entity:
        parser.error("no W&B entity: pass --entity ENTITY (your W&B user or team name, as in "
                     "https://wandb.ai/ENTITY/PROJECT) or set WANDB_ENTITY")
    return args


def _build(args: argparse.Namespace) -> tuple[Any, Any]:
    try:
        import wandb_workspaces  # noqa: F401
    except ImportError as err:
        raise DashboardError(INSTALL_HINT) from err
    from bstdg.dashboard.build import REPORT_TITLE, WORKSPACE_NAME, build_report, build_workspace

    workspace = build_workspace(args.entity, args.project, args.name or WORKSPACE_NAME)
    report = build_report(args.entity, args.project, args.title or REPORT_TITLE)
    return workspace, report


def describe(workspace: Any, report: Any) -> str:
    """What was built: sections and panel titles of the workspace, and the report's size."""
    lines = [f"workspace {workspace.name!r} for {workspace.entity}/{workspace.project}:"]
    for section in workspace.sections:
        titles = ", ".join(str(p.title) for p in section.panels)
        lines.append(f"  {section.name}: {titles}")
    grids = [b for b in report.blocks if type(b).__name__ == "PanelGrid"]
    n_panels = sum(len(g.panels) for g in grids)
    lines.append(f"report {report.title!r}: {len(grids)} panel grids, {n_panels} panels")
    return "\n".join(lines)


def _save(workspace: Any, report: Any, args: argparse.Namespace) -> list[str]:
    saved = []
    try:
        if not args.no_workspace:
            saved.append(f"workspace: {workspace.save().url}")
        if not args.no_report:
            report.save()
            saved.append(f"report:    {report.url}")
    except Exception as err:  # network, login, permissions: all reported the same way
        raise DashboardError(
            f"saving to W&B failed ({type(err).__name__}: {err}). Log in first (`wandb "
            f"login` or WANDB_API_KEY), check that {args.entity}/{args.project} exists and "
            "that you may write to it; --dry-run builds without saving.") from err
    return saved


def main(argv: Sequence[str] | None = None) -> int:
    """Console script entry point; returns the exit status."""
    args = parse_args(argv)
    try:
        workspace, report = _build(args)
        print(describe(workspace, report))
        if args.dry_run:
            print("dry run: nothing saved")
            return 0
        for line in _save(workspace, report, args):
            print(line)
    except DashboardError as err:
        raise SystemExit(f"bstdg-dashboard: error: {err}") from None
    return 0
