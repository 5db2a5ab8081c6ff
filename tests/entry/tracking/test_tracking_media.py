"""W&B media builders: confusion matrix, metrics table, settings of the media callback."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from bstdg.tracking.media import NO_SPIKE, WandbMedia, confusion_chart, metrics_table
from bstdg.utils.checks import ConfigError


def test_confusion_matrix_counts_with_a_column_for_undecided_samples() -> None:
    chart = confusion_chart(np.array([0, 1, 2, 2]), np.array([0, -1, 2, 1]), n_classes=3)
    counts = {(a, p): n for a, p, n in chart.table.data}
    assert counts[("0", "0")] == counts[("2", "2")] == counts[("2", "1")] == 1
    assert counts[("1", NO_SPIKE)] == 1 and sum(counts.values()) == 4
    assert {a for a, _ in counts} == {"0", "1", "2"}  # no row for "no spike"


def test_confusion_matrix_without_undecided_samples_is_square() -> None:
    chart = confusion_chart(np.array([0, 1]), np.array([1, 1]), n_classes=2)
    assert len(chart.table.data) == 4 and chart.table.columns == [
        "Actual", "Predicted", "nPredictions"]


def test_metrics_table_has_one_row_of_test_metrics() -> None:
    table = metrics_table({"test/acc": torch.tensor(0.5), "val/acc": 0.9,
                           "time/infer_us_per_sample": 3.0, "time/epoch_s": 1.0})
    assert table.columns == ["test/acc", "time/infer_us_per_sample"]
    assert table.data == [[0.5, 3.0]]


@pytest.mark.parametrize("kwargs,key", [({"every_n_epochs": 0}, "every_n_epochs=0"),
                                        ({"raster_samples": -1}, "raster_samples=-1")])
def test_bad_settings_name_the_config_key(kwargs: dict, key: str) -> None:
    with pytest.raises(ConfigError, match=f"callbacks.wandb_media.{key}"):
        WandbMedia(**kwargs)
