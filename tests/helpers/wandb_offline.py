"""Offline W&B runs in tests: run a console script with W&B offline, and read the runs.

The records are read with ``bstdg.tracking.offline_runs`` (wandb's own protobuf Record;
wandb 0.31 ships no Python reader of the ``.wandb`` file).
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from bstdg.tracking.offline_runs import OfflineRun, find_offline_runs, load_offline_run

# A seconds-long job on generated data (128 training samples, 2 epochs).
TINY = ["experiment=synthetic_quickstart", "trainer.max_epochs=2", "data.n_train=128",
        "data.n_val=64", "data.n_test=64", "trainer.enable_progress_bar=false",
        "extras.print_config=false", "callbacks.inference_timer.max_samples=64",
        "callbacks.inference_timer.repeats=1", "callbacks.model_summary=null"]


def offline_env(tmp: Path) -> dict[str, str]:
    """The environment of a subprocess logging to offline W&B under ``tmp`` (W&B's staging
    folder for tables and artifacts included), single-threaded."""
    return {**os.environ, "WANDB_MODE": "offline", "WANDB_SILENT": "true",
            "WANDB_DATA_DIR": str(tmp / "wandb-data"), "WANDB_CACHE_DIR": str(tmp / "wandb-cache"),
            "WANDB_CONFIG_DIR": str(tmp / "wandb-config"), "OMP_NUM_THREADS": "1",
            "NUMBA_NUM_THREADS": "1"}


def run_script(module: str, *args: str, cwd: Path, env: dict[str, str]
               ) -> subprocess.CompletedProcess:
    """``python -m module args`` (a console script's module), output captured."""
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600, check=False)


def offline_runs(root: Path) -> list[OfflineRun]:
    """Every offline run under ``root``, decoded."""
    return [load_offline_run(path) for path in find_offline_runs(root)]


def summary_kinds(run: OfflineRun, key: str) -> set[str]:
    """The summaries defined for ``key`` (``max``, ``min``, ``mean``, ...)."""
    metric = run.metrics.get(key)
    return set() if metric is None else {f.name for f, _ in metric.summary.ListFields()}


def leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """(dotted key, value) of every leaf of a nested config."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield from leaves(value, f"{path}.{key}" if path else str(key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from leaves(value, f"{path}[{i}]")
    else:
        yield path, node
