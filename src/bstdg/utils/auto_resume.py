"""``ckpt_path=auto``: a command, or a whole multirun, rerun after it was stopped continues
each run where it ended.

Per run folder (``paths.output_dir``; a multirun rerun into the same ``hydra.sweep.dir`` gives
each job its folder again):

* ``metrics.json`` says ``finished`` or ``stopped``: the run is done; it is skipped and its
  record is left as it is;
* ``checkpoints/last.ckpt`` exists (an interrupted, failed or killed run): training resumes
  from it;
* neither: the run starts from scratch.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, open_dict

AUTO = "auto"
DONE_STATUSES = ("finished", "stopped")


def done_record(run_dir: Path) -> dict[str, Any] | None:
    """The ``metrics.json`` of ``run_dir`` when it records a finished or stopped run."""
    try:
        record = json.loads((run_dir / "metrics.json").read_text())
    except (OSError, ValueError):
        return None
    if isinstance(record, dict) and record.get("status") in DONE_STATUSES:
        return record
    return None


def resolve_auto_resume(cfg: DictConfig) -> dict[str, Any] | None:
    """With ``ckpt_path=auto``: the record of a run that is already done (the caller skips
    it), else None after setting ``cfg.ckpt_path`` to the folder's ``last.ckpt`` (resume) or
    to null (fresh start). Any other ``ckpt_path`` is left alone."""
    if cfg.get("ckpt_path") != AUTO:
        return None
    run_dir = Path(cfg.paths.output_dir)
    record = done_record(run_dir)
    if record is not None:
        print(f"{run_dir}: already {record['status']} (metrics.json); skipped", file=sys.stderr)
        return record
    last = run_dir / "checkpoints" / "last.ckpt"
    with open_dict(cfg):
        cfg.ckpt_path = str(last) if last.is_file() else None
    if cfg.ckpt_path:
        print(f"{run_dir}: resuming from {last}", file=sys.stderr)
    return None
