"""Hydra callbacks of the training entry point (the multirun summary is in bstdg.report)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class NumbaCacheWarmup(Callback):
    """Compile the numba kernels in the launching process before a multirun's jobs start.

    Jobs that start together in separate processes (joblib, SLURM) would otherwise all
    compile the kernels at once and race on numba's cache files (see
    :mod:`bstdg.snn.warmup`). Skipped for the basic launcher, whose jobs run one
    after the other in this process. Never raises: a problem is logged as a warning.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        launcher = str(config.hydra.launcher.get("_target_", ""))
        if not self.enabled or launcher.endswith("BasicLauncher"):
            return
        try:
            from bstdg.snn.warmup import warm_up_numba

            seconds = warm_up_numba()
            log.info("numba kernels compiled or loaded from the cache in %.1f s", seconds)
        except Exception as err:  # the jobs then compile the kernels themselves
            log.warning("numba cache warm-up skipped: %s: %s", type(err).__name__, err)


class DropEmptyJobLog(Callback):
    """Delete a job's ``<job name>.log`` at its end when nothing was written to it.

    Hydra opens the file for every job, but a job whose messages all went to the console or
    to its loggers leaves a 0-byte file behind that only clutters the run dir.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        if not self.enabled:
            return
        try:
            path = Path(str(config.hydra.runtime.output_dir)) / f"{config.hydra.job.name}.log"
            if path.is_file() and path.stat().st_size == 0:
                path.unlink()
        except Exception as err:  # cleaning up must never fail a job
            log.warning("empty job log not removed: %s: %s", type(err).__name__, err)
