"""A committed copy of the runs behind a results document, so it survives a fresh clone.

Run directories live under ``logs/`` (git-ignored, gigabytes of checkpoints); a clone or a new
machine has none of them, and a results document regenerated there would lose every table.
The archive keeps what the document reads from each run, its ``metrics.json`` (a few KB,
holding the run's ``cfg/`` keys; a run written before those keys existed also keeps the
``.hydra/`` files they are read back from), at the same path relative to the repository root:

    logs/tables/mnist/0/metrics.json  ->  <archive>/logs/tables/mnist/0/metrics.json

A spec entry is looked up in both places; a run present in both is read from ``logs/``.
"""

from __future__ import annotations

import glob
import os
import shutil
from pathlib import Path

from bstdg.report.runs import CFG_PREFIX, GLOB_CHARS, METRICS_FILE

HYDRA_DIR = ".hydra"
HYDRA_FILES = ("config.yaml", "overrides.yaml", "hydra.yaml")


def _metrics_files(base: Path, entry: str) -> dict[str, Path]:
    """Every metrics.json that ``entry`` names beneath ``base``, keyed by its run dir
    relative to ``base``."""
    pattern = base / entry
    items = ([Path(p) for p in sorted(glob.glob(str(pattern), recursive=True))]
             if GLOB_CHARS & set(entry) else [pattern])
    found: dict[str, Path] = {}
    for item in items:
        files = ([item] if item.is_file() and item.name == METRICS_FILE
                 else sorted(item.rglob(METRICS_FILE)) if item.is_dir() else [])
        for file in files:
            found[str(file.parent.relative_to(base))] = file
    return found


def entry_metrics_files(root: Path, entry: str, archive: Path | None) -> list[Path]:
    """The metrics.json files of one spec entry: those under ``root`` (the working runs) and,
    for run dirs absent there, those under ``archive``."""
    local = _metrics_files(root, entry)
    if archive is None or Path(entry).is_absolute():
        return list(local.values())
    kept = {rel: f for rel, f in _metrics_files(archive, entry).items() if rel not in local}
    return [*local.values(), *kept.values()]


def _has_cfg_keys(metrics_file: Path) -> bool:
    return f'"{CFG_PREFIX}' in metrics_file.read_text()


def _copy_atomic(src: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    tmp = dest.with_name(f".{dest.name}.{os.getpid()}.tmp")
    shutil.copyfile(src, tmp)
    os.replace(tmp, dest)


def archive_run(metrics_file: Path, root: Path, archive: Path) -> Path | None:
    """Copy one run's metrics.json (and, when it has no ``cfg/`` keys, its .hydra files) into
    ``archive`` at its path relative to ``root``; None for a run outside ``root`` or already
    inside the archive."""
    run_dir = metrics_file.resolve().parent
    try:
        run_dir.relative_to(archive.resolve())
        return None
    except ValueError:
        pass
    try:
        rel = run_dir.relative_to(root.resolve())
    except ValueError:
        return None
    dest = archive / rel
    _copy_atomic(metrics_file, dest / METRICS_FILE)
    if not _has_cfg_keys(metrics_file):
        for name in HYDRA_FILES:
            if (run_dir / HYDRA_DIR / name).is_file():
                _copy_atomic(run_dir / HYDRA_DIR / name, dest / HYDRA_DIR / name)
    return dest


__all__ = ["archive_run", "entry_metrics_files"]
