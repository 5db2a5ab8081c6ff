"""Runs of a W&B project (``wandb.Api``) as rows of the same table ``load_runs`` gives."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from bstdg.report.runs import CFG_PREFIX, RUN_DIR, SKIP_REASON, _hashable, skip_reason

WANDB_PREFIX = "wandb:"
# Logged config nodes that are not hyperparameters of the job.
_AGGREGATES = ("min", "max", "mean", "first", "last", "best")
_NOT_HYPERPARAMETERS = ("env", "hydra", "paths", "callbacks", "logger", "extras", "derived",
                        "evaluated")


def _flatten(node: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    flat: dict[str, Any] = {}
    for key, value in node.items():
        if str(key).startswith("_"):
            continue
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def wandb_record(summary: Mapping[str, Any], config: Mapping[str, Any], state: str,
                 url: str) -> dict[str, Any]:
    """One run's row: its summary metrics (a ``define_metric`` summary such as
    ``{"max": v}`` gives ``v``), its config as ``cfg/<dotted key>``, ``seed``,
    ``experiment`` (``run_name``) and ``status`` (``finished`` only for W&B's finished state)."""
    params = {k: v for k, v in config.items() if k not in _NOT_HYPERPARAMETERS}
    record: dict[str, Any] = {}
    for key, value in summary.items():
        if key.startswith("_"):
            continue
        if isinstance(value, Mapping):  # a define_metric summary such as {"max": 0.97}
            if len(value) != 1 or next(iter(value)) not in _AGGREGATES:
                continue  # media, histograms, several aggregates
            value = next(iter(value.values()))
        record[key] = value
    record.update({f"{CFG_PREFIX}{k}": v for k, v in _flatten(params).items()})
    record.update(seed=config.get("seed"), experiment=config.get("run_name"),
                  status="finished" if state == "finished" else state)
    record = {k: _hashable(v) for k, v in record.items()}
    record[SKIP_REASON] = skip_reason(record)
    return {RUN_DIR: url, **record}


def load_wandb_runs(projects: Sequence[str], api: Any | None = None) -> pd.DataFrame:
    """Rows for every run of each ``wandb:ENTITY/PROJECT`` (needs network and a login)."""
    paths = [project.removeprefix(WANDB_PREFIX) for project in projects]
    for project, path in zip(projects, paths, strict=True):
        if path.count("/") != 1:
            raise ValueError(f"{project!r}: give a W&B project as wandb:ENTITY/PROJECT")
    if api is None:
        import wandb

        api = wandb.Api()
    rows = []
    for project, path in zip(projects, paths, strict=True):
        for run in api.runs(path):
            rows.append(wandb_record(dict(run.summary), dict(run.config), run.state,
                                     getattr(run, "url", f"{project}/{run.id}")))
    return pd.DataFrame(rows)
