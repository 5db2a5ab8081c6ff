"""Group runs by experiment and swept keys; mean, std, n, min, max over seeds."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from bstdg.report.runs import CFG_PREFIX, usable_runs

METRICS = (
    "test/acc",
    "test/acc_ties",
    "test/hidden_spikes",
    "test/hidden_spikes_before_decision",
    "test/decision_time",
    "test/no_output_spike_frac",
    "test/hidden_dead_frac",
    "test/hidden_saturated_frac",
    "test/synops",
    "neurobench/activation_sparsity",
    "neurobench/synaptic_operations/effective_acs",
    "neurobench/synaptic_operations/dense",
    "neurobench/connection_sparsity",
    "neurobench/footprint",
    "time/infer_us_per_sample",
    "time/infer_early_exit_us_per_sample",
    "time/epoch_s",
    "val/acc_best",
)
STATS = ("mean", "std", "n", "min", "max")
# Per-group provenance columns written after ``n`` and ``seeds``.
EPOCHS, WALL_MIN, COMMIT = "epochs", "wall_min", "commit"
PROVENANCE = (EPOCHS, WALL_MIN, COMMIT)
EPOCHS_KEY = f"{CFG_PREFIX}trainer.max_epochs"


def _is_seed_key(column: str) -> bool:
    return column.removeprefix(CFG_PREFIX).split(".")[-1] == "seed"


def varying_config_keys(df: pd.DataFrame) -> list[str]:
    """``cfg/`` columns that take more than one value across ``df`` (seed keys excluded)."""
    keys = []
    for column in df.columns:
        if column.startswith(CFG_PREFIX) and not _is_seed_key(column):
            if df[column].astype(str).nunique(dropna=False) > 1:
                keys.append(column)
    return sorted(keys)


def default_group_keys(df: pd.DataFrame) -> list[str]:
    """``experiment`` plus every ``cfg/`` key that varies across the averageable runs."""
    runs = usable_runs(df)
    return (["experiment"] if "experiment" in runs else []) + varying_config_keys(runs)


def present_metrics(df: pd.DataFrame, metrics: Sequence[str] | None = None) -> list[str]:
    """The requested metrics (default :data:`METRICS`) that some run of ``df`` has."""
    wanted = METRICS if metrics is None else metrics
    return [m for m in wanted if m in df and df[m].notna().any()]


def stat_column(metric: str, stat: str) -> str:
    """Column name of one statistic, e.g. ``test/acc mean``."""
    return f"{metric} {stat}"


def _seeds_text(group: pd.DataFrame) -> str:
    """The group's seeds as ``1,2,3``: numbers sorted, then any other value as written (a
    seed that is not an integer is shown, never dropped)."""
    if "seed" not in group:
        return ""
    seeds = group["seed"].dropna()
    numbers = pd.to_numeric(seeds, errors="coerce")
    known = [str(int(n)) if float(n).is_integer() else str(n) for n in sorted(numbers.dropna())]
    other = sorted(str(s) for s, n in zip(seeds, numbers, strict=True) if pd.isna(n))
    return ",".join([*known, *other])


def _distinct(values: pd.Series) -> list[str]:
    """The distinct non-missing values as text, in order of first appearance."""
    seen: dict[str, None] = {}
    for value in values.dropna():
        text = str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)
        seen[text] = None
    return list(seen)


def _epochs_text(group: pd.DataFrame) -> str:
    """``trainer.max_epochs`` of the group's runs (``5,30`` when they differ)."""
    if EPOCHS_KEY not in group:
        return ""
    values = pd.to_numeric(group[EPOCHS_KEY], errors="coerce").dropna()
    return ",".join(_distinct(values.sort_values()))


def _wall_minutes(group: pd.DataFrame) -> float:
    """Mean ``wall_s`` per run in minutes (NaN when no run recorded it)."""
    if "wall_s" not in group:
        return float("nan")
    return float(pd.to_numeric(group["wall_s"], errors="coerce").mean() / 60.0)


def commit_label(commit: object, dirty: object) -> str | None:
    """A short hash (7 characters), ``+dirty`` when the run's tracked files differed."""
    if not isinstance(commit, str) or not commit:
        return None
    return commit[:7] + ("+dirty" if dirty in (True,) else "")


def _commits_text(group: pd.DataFrame) -> str:
    """The group's distinct commits, e.g. ``7aa0b38`` or ``7aa0b38,f1e4b58+dirty``."""
    if "git_commit" not in group:
        return ""
    dirty = group["git_dirty"] if "git_dirty" in group else pd.Series(None, index=group.index)
    labels = [commit_label(c, d) for c, d in zip(group["git_commit"], dirty, strict=True)]
    return ",".join(_distinct(pd.Series([x for x in labels if x is not None], dtype=object)))


def aggregate(
    df: pd.DataFrame, by: Sequence[str] | None = None, metrics: Sequence[str] | None = None
) -> pd.DataFrame:
    """One row per group: the ``by`` keys, ``n`` runs, their ``seeds``, the provenance
    (``epochs``: ``trainer.max_epochs``; ``wall_min``: mean wall time per run in minutes;
    ``commit``: short git hashes, ``+dirty`` when a run's tree was dirty), then per metric
    ``<metric> mean``, ``std`` (sample, ddof=1), ``n``, ``min`` and ``max``.

    Runs with a ``skip_reason`` are dropped first (they are never averaged). ``by`` defaults
    to :func:`default_group_keys` (``encoder.T`` stands for ``cfg/encoder.T``); ``metrics``
    to the :data:`METRICS` present.
    """
    runs = usable_runs(df)
    keys = list(default_group_keys(df) if by is None else by)
    keys = [f"{CFG_PREFIX}{k}" if k not in runs and f"{CFG_PREFIX}{k}" in runs else k
            for k in keys]
    missing = [k for k in keys if k not in runs]
    if missing:
        known = ", ".join(sorted(c for c in runs.columns if c.startswith(CFG_PREFIX))[:20])
        raise KeyError(f"no run has the grouping key(s) {missing}; cfg keys include: {known}")
    names = present_metrics(runs, metrics)
    columns = [*keys, "n", "seeds", *PROVENANCE,
               *(stat_column(m, s) for m in names for s in STATS)]
    if runs.empty:
        return pd.DataFrame(columns=columns)
    rows = []
    groups = runs.groupby(keys, dropna=False, sort=True) if keys else [((), runs)]
    for values, group in groups:
        values = values if isinstance(values, tuple) else (values,)
        row = dict(zip(keys, values, strict=True))
        row["n"] = len(group)
        row["seeds"] = _seeds_text(group)
        row[EPOCHS] = _epochs_text(group)
        row[WALL_MIN] = _wall_minutes(group)
        row[COMMIT] = _commits_text(group)
        for metric in names:
            values_m = pd.to_numeric(group[metric], errors="coerce").dropna()
            row[stat_column(metric, "mean")] = values_m.mean()
            row[stat_column(metric, "std")] = values_m.std(ddof=1)
            row[stat_column(metric, "n")] = len(values_m)
            row[stat_column(metric, "min")] = values_m.min()
            row[stat_column(metric, "max")] = values_m.max()
        rows.append(row)
    return pd.DataFrame(rows, columns=columns)
