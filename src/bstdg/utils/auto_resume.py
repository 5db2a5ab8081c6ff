"""``ckpt_path=auto``: a command, or a whole multirun, rerun after it was stopped continues
each run where it ended.

Per run folder (``paths.output_dir``; a multirun rerun into the same ``hydra.sweep.dir`` gives
each job its folder again):

* ``metrics.json`` says ``finished`` or ``stopped``: the run is done; it is skipped and its
  record is left as it is;
* ``checkpoints/last.ckpt`` exists (an interrupted, failed or killed run): training resumes
  from it;
* neither: the run starts from scratch.

A folder whose record was made with other settings (a ``cfg/<key>`` that both the record and
this run have, with another value) is refused, finished or not: rerunning a recipe after its
defaults changed must not keep or continue runs of the old defaults.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

from bstdg.utils.checks import ConfigError
from bstdg.utils.run_config import config_entries

AUTO = "auto"
DONE_STATUSES = ("finished", "stopped")


class ChangedSettingsError(ConfigError):
    """``ckpt_path=auto`` found a run folder made with other settings than this run's."""


def read_record(run_dir: Path) -> dict[str, Any] | None:
    """The ``metrics.json`` object of ``run_dir``, None when there is none (or unreadable)."""
    try:
        record = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    return record if isinstance(record, dict) else None


def changed_settings(record: dict[str, Any], entries: dict[str, Any]) -> list[str]:
    """``key: recorded -> now`` for each ``cfg/`` key of both whose value differs."""
    return [f"{key[4:]}: {record[key]!r} -> {entries[key]!r}" for key in sorted(entries)
            if key in record and json.loads(json.dumps(entries[key])) != record[key]]


def resolve_auto_resume(cfg: DictConfig) -> dict[str, Any] | None:
    """With ``ckpt_path=auto``: the record of a run that is already done (the caller skips
    it), else None after setting ``cfg.ckpt_path`` to the folder's ``last.ckpt`` (resume) or
    to null (fresh start). Any other ``ckpt_path`` is left alone."""
    if cfg.get("ckpt_path") != AUTO:
        return None
    run_dir = Path(cfg.paths.output_dir)
    record = read_record(run_dir)
    changed = changed_settings(record, config_entries(cfg)) if record else []
    if changed:
        raise ChangedSettingsError(
            f"ckpt_path=auto: {run_dir} holds a {record.get('status')} run made with other "
            f"settings ({'; '.join(changed)}). Move or delete that folder, or choose another "
            f"hydra.sweep.dir / hydra.run.dir.")
    if record is not None and record.get("status") in DONE_STATUSES:
        print(f"{run_dir}: already {record['status']} (metrics.json); skipped", file=sys.stderr)
        return record
    last = run_dir / "checkpoints" / "last.ckpt"
    with open_dict(cfg):
        cfg.ckpt_path = str(last) if last.is_file() else None
    if cfg.ckpt_path:
        print(f"{run_dir}: resuming from {last}", file=sys.stderr)
    return None
