"""A committed record of the runs behind a results document, so it survives a fresh clone.

Run directories live under ``logs/`` (git-ignored, gigabytes of checkpoints); a clone or a new
machine has none of them, and a results document regenerated there would lose every table.
The archive is one JSON file beside the document that keeps what the document reads from each
run: its ``metrics.json`` object (holding the run's ``cfg/`` keys; for a run written before
those keys existed, they are read back from its ``.hydra/`` folder before it is archived),
keyed by the run dir relative to the repository root::

    {"format": 1, "runs": {"logs/tables/mnist/0": {"status": "finished", ...}, ...}}

A spec entry is looked up in both places; a run present in both is read from ``logs/``.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from bstdg.report.runs import (
    METRICS_FILE,
    SKIP_REASON,
    NoRunsFoundError,
    find_metrics_files,
    read_metrics,
    with_cfg_keys,
)

ARCHIVE_FORMAT = 1


def local_metrics_files(root: Path, entry: str) -> dict[str, Path]:
    """The metrics.json files that ``entry`` names under ``root``, keyed by their run dir
    relative to ``root`` (the archive's key)."""
    try:
        files = find_metrics_files([root / entry])
    except NoRunsFoundError:
        return {}
    base = root.resolve()
    keyed: dict[str, Path] = {}
    for file in files:
        try:
            keyed[file.parent.relative_to(base).as_posix()] = file
        except ValueError:  # an absolute entry outside the root: read, never archived
            keyed[str(file.parent)] = file
    return keyed


def _covers(pattern: list[str], parts: list[str]) -> bool:
    """Whether the glob ``pattern`` (path components; ``**`` any number of them) names the
    path ``parts`` or one of its parent folders."""
    if not pattern:
        return True
    if pattern[0] == "**":
        return any(_covers(pattern[1:], parts[i:]) for i in range(len(parts) + 1))
    return bool(parts) and fnmatch.fnmatchcase(parts[0], pattern[0]) and \
        _covers(pattern[1:], parts[1:])


def archived_runs(runs: Mapping[str, Any], entry: str) -> dict[str, Any]:
    """The archived runs that ``entry`` (a run dir, a multirun dir, a glob or a metrics.json
    under the root) names."""
    path = PurePosixPath(entry)
    if path.name == METRICS_FILE:
        path = path.parent
    pattern = list(path.parts)
    return {key: raw for key, raw in runs.items()
            if _covers(pattern, list(PurePosixPath(key).parts))}


def read_archive(path: Path) -> dict[str, Any]:
    """The archived runs by run dir ({} when the file does not exist yet)."""
    try:
        stored = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as err:
        raise ValueError(f"{path} is not a readable run archive ({err}); restore it with "
                         f"`git checkout -- {path}`, or delete it to rebuild it from logs/"
                         ) from None
    if not isinstance(stored, dict) or stored.get("format") != ARCHIVE_FORMAT or \
            not isinstance(stored.get("runs"), dict):
        raise ValueError(f"{path} is not a run archive of format {ARCHIVE_FORMAT} (a JSON "
                         f"object with 'format' and 'runs'); restore it with `git checkout -- "
                         f"{path}`, or delete it to rebuild it from logs/")
    return stored["runs"]


def archive_record(metrics_file: Path) -> Any:
    """What the archive keeps of one run: its metrics.json object, with the ``cfg/`` keys
    of its ``.hydra/`` folder when the object has none."""
    raw = read_metrics(metrics_file)
    if isinstance(raw, dict) and SKIP_REASON not in raw:
        return with_cfg_keys(raw, metrics_file.parent)
    return raw


def write_archive(path: Path, runs: Mapping[str, Any]) -> None:
    """Write the archive atomically, runs sorted by run dir (stable diffs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"format": ARCHIVE_FORMAT, "runs": dict(sorted(runs.items()))},
                              indent=1, sort_keys=True) + "\n")
    os.replace(tmp, path)


__all__ = ["ARCHIVE_FORMAT", "archive_record", "archived_runs", "local_metrics_files",
           "read_archive", "write_archive"]
