"""Hydra callback: summary.csv and summary.md in the multirun folder as jobs end."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from hydra.types import RunMode
from omegaconf import DictConfig

log = logging.getLogger(__name__)


class MultirunSummary(Callback):
    """Rebuild the sweep's summary after every job and at the end of the multirun.

    Hydra skips ``on_multirun_end`` when a job failed, so each job's end rebuilds it too (the
    failed job is listed as skipped). Never raises: a problem is logged as a warning.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled

    def _summarize(self, config: DictConfig) -> None:
        if not self.enabled:
            return
        try:
            from bstdg.report.build import write_summary

            sweep_dir = Path(str(config.hydra.sweep.dir))
            write_summary(sweep_dir)
        except Exception as err:  # a summary must never fail the sweep
            log.warning("multirun summary not written: %s: %s", type(err).__name__, err)

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        if config.hydra.get("mode") == RunMode.MULTIRUN:
            self._summarize(config)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        self._summarize(config)
        summary = Path(str(config.hydra.sweep.dir)) / "summary.md"
        if self.enabled and summary.is_file():
            print(f"multirun summary: {summary}")
