"""Find and load runs: every ``metrics.json`` beneath the given paths, one row per run."""

from __future__ import annotations

import glob
import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from bstdg.utils.run_config import run_dir_entries

METRICS_FILE = "metrics.json"
GLOB_CHARS = set("*?[")
# Columns added by the loader (not from metrics.json).
RUN_DIR, SKIP_REASON = "run_dir", "skip_reason"
HEADLINE = "test/acc"
CFG_PREFIX = "cfg/"


class NoRunsFoundError(FileNotFoundError):
    """None of the given paths holds a metrics.json."""


def _expand(path: str | Path) -> list[Path]:
    text = str(path)
    if GLOB_CHARS & set(text) and not Path(text).exists():
        return [Path(p) for p in sorted(glob.glob(text, recursive=True))]
    return [Path(text)]


def find_metrics_files(paths: Iterable[str | Path]) -> list[Path]:
    """Every metrics.json at or beneath ``paths`` (run dirs, multirun dirs, globs, files).

    Raises :class:`NoRunsFoundError` naming the paths when none is found.
    """
    paths = list(paths)
    found: dict[Path, None] = {}
    for path in paths:
        for item in _expand(path):
            if item.is_file() and item.name == METRICS_FILE:
                found[item.resolve()] = None
            elif item.is_dir():
                for file in sorted(item.rglob(METRICS_FILE)):
                    found[file.resolve()] = None
    if not found and not run_dirs_without_metrics(paths):
        shown = ", ".join(str(p) for p in paths) or "(no path given)"
        raise NoRunsFoundError(
            f"no {METRICS_FILE} found at or beneath: {shown}. Give run directories "
            f"(logs/train/runs/<run>), multirun directories (logs/train/multiruns/<stamp>) or "
            f"globs of them; every bstdg-train / bstdg-eval run writes {METRICS_FILE} there."
        )
    return list(found)


NO_METRICS = (f"no {METRICS_FILE}: the job never started, or was killed before it wrote "
              "one (its .hydra/ folder is there)")


def _not_finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and \
        not math.isfinite(value)


def run_dirs_without_metrics(paths: Iterable[str | Path]) -> list[Path]:
    """Run dirs at or beneath ``paths`` (folders with a ``.hydra/config.yaml``) that hold no
    metrics.json: jobs that never started or were killed before writing one."""
    dirs: dict[Path, None] = {}
    for path in paths:
        for item in _expand(path):
            if item.is_dir():
                for config in sorted(item.rglob(".hydra/config.yaml")):
                    run = config.parent.parent
                    if not (run / METRICS_FILE).is_file():
                        dirs[run.resolve()] = None
    return list(dirs)


def skip_reason(record: dict[str, Any]) -> str | None:
    """Why a run cannot be averaged (not finished, no test accuracy, a non-finite test
    metric), or None."""
    status = record.get("status")
    if status is None:
        return "no status in metrics.json"
    if status != "finished":
        error = record.get("error")
        return f"status {status}" + (f": {error}" if error else "")
    if record.get(HEADLINE) is None:
        return f"no {HEADLINE} (the test stage did not run or did not finish)"
    bad = [f"{k} = {v}" for k, v in record.items() if k.startswith("test/") and _not_finite(v)]
    if bad:
        return f"non-finite test metric(s): {', '.join(bad)}"
    return None


def _canonical(value: Any) -> Any:
    """Integral floats inside lists and dicts as ints: ``[1.0, 2.0]`` from a YAML default and
    ``[1, 2]`` from a command-line override are the same setting (as 2.0 and 2 are for a
    scalar, which pandas compares as numbers)."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_canonical(v) for v in value]
    if isinstance(value, dict):
        return {k: _canonical(v) for k, v in value.items()}
    return value


def _hashable(value: Any) -> Any:
    """Lists and dicts as compact JSON text (integral floats in them written as ints), so
    that they can be grouped and compared."""
    if isinstance(value, (list, dict)):
        return json.dumps(_canonical(value), separators=(",", ":"))
    return value


def with_cfg_keys(raw: dict[str, Any], run_dir: Path) -> dict[str, Any]:
    """A metrics.json object with the ``cfg/`` keys of its run's ``.hydra/`` folder added
    when it has none (runs written before metrics.json carried them)."""
    if any(k.startswith(CFG_PREFIX) for k in raw):
        return raw
    return {**run_dir_entries(run_dir), **raw}


def run_record(raw: Any, run_dir: Path) -> dict[str, Any]:
    """One run's row from its metrics.json object (``cfg/`` keys read back from its
    ``.hydra/`` folder when the object has none), with ``skip_reason``."""
    if not isinstance(raw, dict):
        return {SKIP_REASON: f"{METRICS_FILE} is not a JSON object"}
    record = {k: _hashable(v) for k, v in with_cfg_keys(raw, run_dir).items()}
    record[SKIP_REASON] = skip_reason(record)
    return record


def read_metrics(file: Path) -> Any:
    """The JSON object of a metrics.json, or a row saying why it cannot be read."""
    try:
        return json.loads(file.read_text())
    except (OSError, ValueError) as err:
        return {SKIP_REASON: f"unreadable {METRICS_FILE}: {err}"}


def _read(file: Path) -> dict[str, Any]:
    raw = read_metrics(file)
    if isinstance(raw, dict) and SKIP_REASON in raw:
        return raw
    return run_record(raw, file.parent)


def load_runs(paths: Iterable[str | Path] | str | Path) -> pd.DataFrame:
    """One row per metrics.json beneath ``paths``, with ``run_dir`` and ``skip_reason``.

    Runs whose metrics.json has no ``cfg/`` keys (written before they existed) get them from
    their ``.hydra/`` folder.

    ``skip_reason`` is None for finished runs with a finite test accuracy; every other run
    (failed, running, interrupted, unreadable, a non-finite test metric, or a run dir with no
    metrics.json at all) keeps its row with the reason, and is never averaged.
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    paths = list(paths)
    files = find_metrics_files(paths)
    rows = [{RUN_DIR: str(f.parent), **_read(f)} for f in files]
    rows += [{RUN_DIR: str(d), SKIP_REASON: NO_METRICS} for d in run_dirs_without_metrics(paths)]
    return pd.DataFrame(rows)


def load_records(records: Mapping[str, Any]) -> pd.DataFrame:
    """As :func:`load_runs`, from metrics.json objects keyed by their run dir."""
    return pd.DataFrame([{RUN_DIR: run_dir, **run_record(raw, Path(run_dir))}
                         for run_dir, raw in records.items()])


def usable_runs(df: pd.DataFrame) -> pd.DataFrame:
    """The runs that may be averaged."""
    return df[df[SKIP_REASON].isna()] if SKIP_REASON in df else df


def skipped_runs(df: pd.DataFrame) -> pd.DataFrame:
    """The runs left out, with their reason."""
    return df[df[SKIP_REASON].notna()] if SKIP_REASON in df else df.iloc[:0]
