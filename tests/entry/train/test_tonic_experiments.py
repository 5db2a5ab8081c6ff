"""experiment=nmnist_bstdg and experiment=shd_tonic_bstdg train and test through data=tonic on
fake files in tonic's layouts."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.data_fakes import write_nmnist, write_shd_h5, write_tonic_archive

pytest.importorskip("tonic")

SHORT = ["logger=none", "trainer.max_epochs=1", "+trainer.limit_train_batches=2",
         "+trainer.limit_val_batches=2", "callbacks.stop_on_silence=null"]


def test_nmnist_experiment_runs(make_cfg, tmp_path: Path) -> None:
    write_nmnist(tmp_path / "data")
    run_task(train, make_cfg("experiment=nmnist_bstdg", f"paths.data_dir={tmp_path / 'data'}",
                             "data.val_size=100", *SHORT))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["experiment"] == "nmnist_bstdg"
    assert metrics["cfg/encoder.n_channels"] == 2312
    assert 0.0 <= metrics["test/acc"] <= 1.0


def test_shd_tonic_experiment_runs(make_cfg, tmp_path: Path) -> None:
    for split, n in (("train", 60), ("test", 20)):
        write_shd_h5(tmp_path / "data" / "SHD" / f"shd_{split}.h5", n, seed=n)
        write_tonic_archive(tmp_path / "data" / "SHD" / f"shd_{split}.h5.zip")
    run_task(train, make_cfg("experiment=shd_tonic_bstdg",
                             f"paths.data_dir={tmp_path / 'data'}", *SHORT))
    metrics = json.loads((tmp_path / "metrics.json").read_text())
    assert metrics["status"] == "finished" and metrics["experiment"] == "shd_tonic_bstdg"
    assert metrics["cfg/encoder.t_window"] == 1e6  # microseconds: tonic's time unit
    # 700-400-20 at T = 100: every synapse at every step
    assert metrics["neurobench/synaptic_operations/dense"] == 100 * (700 * 400 + 400 * 20)
    assert metrics["neurobench/synaptic_operations/effective_acs"] == pytest.approx(
        metrics["test/synops"], rel=1e-6)
