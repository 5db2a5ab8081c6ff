"""RUN/test_samples.npz: per-sample test results that agree with the epoch metrics."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from bstdg.report.build import build_report
from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.hydra_compose import SYNTHETIC


def test_per_sample_results_match_metrics_and_feed_the_histogram(make_cfg,
                                                                  tmp_path: Path) -> None:
    run_task(train, make_cfg(*SYNTHETIC, "trainer.max_epochs=1"))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    with np.load(tmp_path / "test_samples.npz") as data:
        samples = {k: data[k] for k in data.files}
    assert int(samples["T"]) == metrics["cfg/encoder.T"]
    assert len(samples["label"]) == 256  # synthetic_quickstart's test set
    assert np.mean(samples["pred"] == samples["label"]) == pytest.approx(metrics["test/acc"])
    for name in ("decision_time", "hidden_spikes", "hidden_spikes_before_decision"):
        assert samples[name].mean() == pytest.approx(metrics[f"test/{name}"], rel=1e-5), name
    report = build_report([tmp_path], tmp_path / "report")
    assert tmp_path / "report" / "decision_time_hist.png" in report.files
