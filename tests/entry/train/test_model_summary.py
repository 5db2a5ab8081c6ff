"""CompactModelSummary: the layer table without Mode/FLOPs and parameter-free rows."""

from __future__ import annotations

import pytest

from bstdg.lit.model_summary import CompactModelSummary


def test_summary_keeps_layers_and_drops_noise(capsys: pytest.CaptureFixture[str]) -> None:
    data = [(" ", ["0", "1", "2"]), ("Name", ["net", "net.layers.0", "train_metrics"]),
            ("Type", ["SpikingNet", "SpikingLayer", "StageMeans"]),
            ("Params", ["471 K", "471 K", "0"]), ("Mode", ["train", "train", "train"]),
            ("FLOPs", ["0", "0", "0"])]
    CompactModelSummary.summarize(data, 471_000, 471_000, 1.9, {"train": 3, "eval": 0}, 0)
    out = capsys.readouterr().out
    assert "net.layers.0" in out and "SpikingLayer" in out
    assert "train_metrics" not in out and "Mode" not in out and "FLOPs" not in out
    assert "Modules in train mode" not in out
    assert "params: 471 K trainable, 471 K total" in out
