"""W&B metric definitions: x-axis and summary of every logged key.

Epoch metrics (``{stage}/*``, ``time/*``, media) are plotted against ``epoch``, per-step
values (``*_step``) against ``trainer/global_step``. Summaries: ``val/acc`` and
``val/acc_ties`` keep their max, the train/val losses their min, per-epoch timings their
mean; everything else (``val/acc_best``, every ``test/*`` value and the test-stage
``time/infer_*`` timings, which are logged once) keeps its last value.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NamedTuple

STEP_AXIS = "trainer/global_step"
EPOCH_AXIS = "epoch"
MAX_SUMMARY = ("val/acc", "val/acc_ties")
MIN_SUMMARY = ("train/loss", "val/loss", "train/loss_step")
MEAN_PREFIX = "time/"
ONCE_PREFIXES = ("test/", "time/infer")  # logged once, by the test stage


class MetricSpec(NamedTuple):
    """How W&B plots and summarises one key."""

    step_metric: str
    summary: str | None


def metric_spec(key: str) -> MetricSpec | None:
    """The definition of ``key``; None for the axes themselves and W&B's ``_`` keys."""
    if key in (STEP_AXIS, EPOCH_AXIS) or key.startswith("_"):
        return None
    axis = STEP_AXIS if key.endswith("_step") else EPOCH_AXIS
    if key.startswith(ONCE_PREFIXES):
        return MetricSpec(axis, None)
    if key in MAX_SUMMARY:
        return MetricSpec(axis, "max")
    if key in MIN_SUMMARY:
        return MetricSpec(axis, "min")
    if key.startswith(MEAN_PREFIX):
        return MetricSpec(axis, "mean")
    return MetricSpec(axis, None)


class MetricAxes:
    """Defines each key once per run, before its first value is logged."""

    def __init__(self) -> None:
        self._defined: set[str] = set()

    def define(self, run: Any, keys: Iterable[str]) -> None:
        """``run.define_metric`` for every key of ``keys`` not defined yet (and the epoch
        axis itself, hidden from automatic panels, the first time)."""
        define = getattr(run, "define_metric", None)
        if define is None:
            return
        if EPOCH_AXIS not in self._defined:
            define(EPOCH_AXIS, hidden=True)
            self._defined.add(EPOCH_AXIS)
        for key in keys:
            if key in self._defined:
                continue
            self._defined.add(key)
            spec = metric_spec(key)
            if spec is None:
                continue
            options = {"summary": spec.summary} if spec.summary else {}
            define(key, step_metric=spec.step_metric, **options)
