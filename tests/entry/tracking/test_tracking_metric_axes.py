"""Metric definitions: x-axis and summary per key (issue 13 item 1)."""

from __future__ import annotations

from typing import Any

import pytest

from bstdg.tracking.metric_axes import MetricAxes, MetricSpec, metric_spec


@pytest.mark.parametrize("key,spec", [
    ("val/acc", MetricSpec("epoch", "max")),
    ("val/acc_ties", MetricSpec("epoch", "max")),
    ("val/acc_best", MetricSpec("epoch", None)),
    ("val/loss", MetricSpec("epoch", "min")),
    ("train/loss", MetricSpec("epoch", "min")),
    ("train/loss_step", MetricSpec("trainer/global_step", "min")),
    ("train/acc_step", MetricSpec("trainer/global_step", None)),
    ("time/epoch_s", MetricSpec("epoch", "mean")),
    ("time/train_samples_per_s", MetricSpec("epoch", "mean")),
    ("time/infer_us_per_sample", MetricSpec("epoch", None)),
    ("test/acc", MetricSpec("epoch", None)),
    ("test/loss", MetricSpec("epoch", None)),
    ("train/spikes/layer1", MetricSpec("epoch", None)),
    ("media/val/raster/input", MetricSpec("epoch", None)),
    ("epoch", None),
    ("trainer/global_step", None),
    ("_timestamp", None),
])
def test_metric_spec(key: str, spec: MetricSpec | None) -> None:
    assert metric_spec(key) == spec


class FakeRun:
    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def define_metric(self, name: str, **options: Any) -> None:
        self.calls.append((name, options))


def test_each_key_is_defined_once_after_the_hidden_epoch_axis() -> None:
    run, axes = FakeRun(), MetricAxes()
    axes.define(run, ["val/acc", "epoch", "trainer/global_step"])
    axes.define(run, ["val/acc", "test/acc"])
    assert run.calls == [
        ("epoch", {"hidden": True}),
        ("val/acc", {"step_metric": "epoch", "summary": "max"}),
        ("test/acc", {"step_metric": "epoch"}),
    ]


def test_a_run_without_define_metric_is_left_alone() -> None:
    MetricAxes().define(object(), ["val/acc"])
