"""W&B run names and groups: the experiment plus the keys a job overrides
(``mnist_bstdg-T16-kernel=const-s3``), grouped by experiment or by multirun."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from bstdg.utils.run_config import is_path_override

# Override sections that do not change what a run computes (display, logging, paths, ...).
UNNAMED_SECTIONS = {"hydra", "paths", "extras", "logger", "callbacks", "launcher", "debug",
                    "hparams_search", "experiment", "tags", "task_name", "run_name",
                    "ckpt_path", "train", "test", "optimized_metric", "local"}
# Trainer keys that change nothing but display and logging.
UNNAMED_TRAINER_KEYS = {"enable_progress_bar", "enable_model_summary", "log_every_n_steps",
                        "default_root_dir", "num_sanity_val_steps", "enable_checkpointing",
                        "logger", "callbacks"}
SHORT_KEYS = {"seed": "s"}
MAX_NAME = 120


def _name_part(override: str) -> str | None:
    """``encoder.T=16`` -> ``T16``, ``model.net.rule.kernel=const`` -> ``kernel=const``,
    ``seed=3`` -> ``s3``; None for an override that does not name the run."""
    key, sep, value = override.partition("=")
    key = key.lstrip("+")
    if not sep or key.startswith("~"):
        return None
    parts = re.split(r"[./]", key)
    if parts[0] in UNNAMED_SECTIONS or key.startswith("hydra"):
        return None
    if parts[0] == "trainer" and parts[-1] in UNNAMED_TRAINER_KEYS:
        return None
    if is_path_override(override):
        return None
    value = re.sub(r"[\[\]\s'\"]", "", value)
    short = SHORT_KEYS.get(parts[-1], parts[-1])
    return f"{short}{value}" if len(short) == 1 else f"{short}={value}"


def run_name(experiment: str, overrides: Sequence[str]) -> str:
    """The experiment followed by every overridden key that changes the run (last dotted
    part; one-letter keys and ``seed`` as ``T16`` / ``s3``), in command-line order; names
    longer than 120 characters end in a hash of the whole."""
    parts = [p for p in (_name_part(str(o)) for o in overrides) if p]
    name = "-".join([experiment, *parts])
    if len(name) > MAX_NAME:
        digest = hashlib.sha1(name.encode()).hexdigest()[:8]
        name = f"{name[: MAX_NAME - 9]}~{digest}"
    return name


def run_group(experiment: str, multirun_stamp: str | None) -> str:
    """The multirun's stamp for a job of a sweep, else the experiment."""
    return str(multirun_stamp) if multirun_stamp else experiment


def identity(experiment: str, job: Mapping[str, Any]) -> dict[str, str]:
    """``name`` and ``group`` of a job, from its experiment and its Hydra job entries
    (``overrides``, ``multirun_stamp``: see ``bstdg.utils.run_config.hydra_job_entries``)."""
    return {"name": run_name(experiment, job.get("overrides") or []),
            "group": run_group(experiment, job.get("multirun_stamp"))}


def recorded_identity(run_dir: str | Path, experiment: str) -> dict[str, str]:
    """``name`` and ``group`` of the training run in ``run_dir``, recomputed from its
    ``metrics.json`` (``experiment``, ``overrides``, ``multirun_stamp``); those of
    ``experiment`` when the folder has no readable metrics.json (a lone checkpoint)."""
    try:
        record = json.loads((Path(run_dir) / "metrics.json").read_text())
    except (OSError, ValueError):
        record = {}
    if not isinstance(record, dict):
        record = {}
    return identity(str(record.get("experiment") or experiment), record)
