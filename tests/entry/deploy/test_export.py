"""bstdg-export on trained checkpoints: the runtime reproduces the checkpoint's spike times and
predictions on the whole test set and bstdg-eval's test/acc (synthetic data here; MNIST in
the slow tier when the data is present)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hydra
import nir
import numpy as np
import pytest
import torch
from hydra.core.global_hydra import GlobalHydra

import bstdg
import bstdg.runtime as rt
from bstdg.eval import evaluate
from bstdg.export import export, foreign_overrides, sha256_file
from bstdg.snn.readout import decide
from bstdg.train import train
from bstdg.utils.checkpoint import pick_checkpoint
from bstdg.utils.task import run_task
from helpers.hydra_compose import FAST, SYNTHETIC, compose_cfg

QUIET = ["trainer.enable_progress_bar=false", "extras.print_config=false"]


def _test_set(cfg: Any) -> tuple[np.ndarray, np.ndarray]:
    """The whole test split of the run's data, as raw uint8 inputs and labels."""
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("test")
    xs, ys = zip(*datamodule.test_dataloader(), strict=True)
    return torch.cat(xs).numpy(), torch.cat(ys).numpy()


def _export(ckpt: Path, out: Path, *overrides: str) -> dict[str, Any]:
    cfg = compose_cfg("export.yaml", [*QUIET[1:], f"ckpt_path={ckpt}", *overrides], out)
    run_task(export, cfg)
    GlobalHydra.instance().clear()
    return json.loads((out / "metrics.json").read_text())


def _eval_acc(ckpt: Path, out: Path) -> float:
    cfg = compose_cfg("eval.yaml", [*QUIET, "logger=none", f"ckpt_path={ckpt}",
                                    "callbacks.inference_timer=null"], out)
    metrics, _ = evaluate(cfg)
    GlobalHydra.instance().clear()
    return float(metrics["test/acc"])


def _check_test_set(ckpt: Path, model_file: Path, x: np.ndarray, y: np.ndarray) -> float:
    """Runtime spike times (every layer) and predictions equal the checkpoint's on (x, y);
    returns the runtime's accuracy."""
    exported = rt.load(model_file)
    model = bstdg.load_run(ckpt).model
    mine = exported.forward(exported.encode(x))
    with torch.no_grad():
        t_in = model.encoder(torch.from_numpy(x))
        np.testing.assert_array_equal(exported.encode(x), t_in.numpy())
        out = model.net(t_in)
    for k, (ref, got) in enumerate(zip(out.times, mine.times, strict=True)):
        np.testing.assert_array_equal(got, ref.long().numpy(), err_msg=f"layer {k} times")
    pred = decide(out.out_times, out.v_fire, out.v_end, model.T, model.fallback).numpy()
    got = exported.decide(mine)
    np.testing.assert_array_equal(got, pred)
    np.testing.assert_array_equal(exported.predict(x), pred)
    return float((got == y).mean())


@pytest.fixture(scope="module")
def synthetic_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 1-epoch synthetic_quickstart run, exported with bstdg-export (in process)."""
    root = tmp_path_factory.mktemp("deploy")
    cfg = compose_cfg("train.yaml", [*FAST, *SYNTHETIC, "trainer.max_epochs=1"], root / "train")
    _, objects = train(cfg)
    x, y = _test_set(cfg)
    GlobalHydra.instance().clear()
    ckpt = Path(objects["last_ckpt_path"])
    record = _export(ckpt, root / "export")
    yield {"root": root, "ckpt": ckpt, "export": root / "export", "record": record,
           "x": x, "y": y}


def test_runtime_reproduces_checkpoint_and_eval(synthetic_run) -> None:
    run = synthetic_run
    assert run["record"]["status"] == "finished"
    assert run["record"]["experiment"] == "synthetic_quickstart"
    assert len(run["y"]) == 256  # the whole synthetic test split
    acc = _check_test_set(run["ckpt"], run["export"] / "model.npz", run["x"], run["y"])
    assert acc == pytest.approx(_eval_acc(run["ckpt"], run["root"] / "eval"), abs=1e-6)


def test_export_record_and_sizes(synthetic_run) -> None:
    run, record = synthetic_run, synthetic_run["record"]
    model_file = run["export"] / "model.npz"
    assert record["model_file_path"] == str(model_file)
    assert record["export/model_bytes"] == model_file.stat().st_size
    assert record["export/ckpt_bytes"] == run["ckpt"].stat().st_size
    assert record["export/model_bytes"] * 5 < record["export/ckpt_bytes"]
    # 64-64-4: (64 + 64) * 8 bytes of packed bits (64 rows of 8 bytes, 4 rows of 8 bytes),
    # 68 float32 thresholds and a 256-entry int32 encoder table
    assert record["export/payload_bytes"] == (64 * 8 + 4 * 8) + 68 * 4 + 256 * 4
    meta = rt.load(model_file).metadata
    assert meta["source"]["checkpoint_sha256"] == __import__("hashlib").sha256(
        run["ckpt"].read_bytes()).hexdigest()
    assert meta["source"]["run_name"] == "synthetic_quickstart"
    assert meta["T"] == 32 and meta["sizes"] == [64, 64, 4]


def test_nir_file_of_the_run(synthetic_run) -> None:
    graph = nir.read(synthetic_run["export"] / "model.nir")
    model = bstdg.load_run(synthetic_run["ckpt"]).model
    for k, layer in enumerate(model.net.layers):
        w = layer.weight.detach()
        np.testing.assert_array_equal(graph.nodes[f"fc{k}"].weight,
                                      torch.where(w >= 0, 1.0, -1.0).numpy())
        theta = layer.threshold.detach().expand(layer.out_features).numpy()
        np.testing.assert_array_equal(graph.nodes[f"if{k}"].v_threshold, theta)
    assert "single" in graph.metadata["semantics"].lower()


def test_missing_checkpoint_is_a_clear_error(tmp_path: Path) -> None:
    cfg = compose_cfg("export.yaml", [f"ckpt_path={tmp_path / 'none.ckpt'}"], tmp_path)
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        export(cfg)
    GlobalHydra.instance().clear()


@pytest.mark.parametrize(
    "args,bad",
    [(["ckpt_path=a.ckpt", "hydra.run.dir=d", "self_check_samples=0", "nir=false"], []),
     (["ckpt_path=a.ckpt", "experiment=mnist_bstdg"], ["experiment=mnist_bstdg"]),
     (["data.batch_size=10", "+model.net.hidden=[3]", "-m"],
      ["data.batch_size=10", "+model.net.hidden=[3]"])],
)
def test_options_export_does_not_take_are_named(args: list[str], bad: list[str]) -> None:
    assert foreign_overrides(args) == bad


@pytest.mark.slow
def test_console_script_writes_into_its_run_dir(synthetic_run, tmp_path: Path) -> None:
    out = tmp_path / "cli"
    env = {**os.environ, "WANDB_MODE": "disabled"}
    result = subprocess.run(
        [sys.executable, "-m", "bstdg.export", f"ckpt_path={synthetic_run['ckpt']}",
         f"hydra.run.dir={out}", "extras.print_config=false"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "model.npz" in result.stdout and "checkpoint" in result.stdout
    assert {"model.npz", "model.nir", "metrics.json"} <= {p.name for p in out.iterdir()}
    missing = subprocess.run(
        [sys.executable, "-m", "bstdg.export", f"ckpt_path={tmp_path / 'x.ckpt'}",
         f"hydra.run.dir={tmp_path / 'missing'}", "extras.print_config=false"],
        capture_output=True, text=True, env=env, timeout=300,
    )
    assert missing.returncode == 1
    assert "bstdg-export: error: checkpoint not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    other = subprocess.run(
        [sys.executable, "-m", "bstdg.export", f"ckpt_path={synthetic_run['ckpt']}",
         "experiment=mnist_bstdg"], capture_output=True, text=True, env=env, timeout=300,
    )
    assert other.returncode == 2 and "not a bstdg-export option" in other.stderr


def _mnist_root() -> Path:
    env = os.environ.get("BSTDG_DATA_DIR")
    if not env or not (Path(env) / "MNIST/raw/t10k-images-idx3-ubyte.gz").exists():
        pytest.skip("real data not found: set BSTDG_DATA_DIR to a folder with MNIST/raw/*.gz")
    return Path(env)


@pytest.mark.slow
@pytest.mark.realdata
def test_mnist_export_reproduces_test_acc(tmp_path: Path) -> None:
    """A briefly trained MNIST net (784-600-10, T=64; 50 batches): the runtime's predictions
    and spike times equal the checkpoint's on the 10k test set, and so does test/acc."""
    _mnist_root()
    cfg = compose_cfg("train.yaml", [
        *FAST, "experiment=mnist_bstdg", "logger=none", "trainer.max_epochs=1",
        "+trainer.limit_train_batches=50", "+trainer.limit_val_batches=2",
        "callbacks.inference_timer=null",
    ], tmp_path / "train")
    metrics, _ = train(cfg)
    x, y = _test_set(cfg)
    GlobalHydra.instance().clear()
    assert len(y) == 10000
    ckpt = pick_checkpoint(tmp_path / "train")  # the checkpoint test/acc was measured on
    record = _export(ckpt, tmp_path / "export", "self_check_samples=64")
    acc = _check_test_set(ckpt, tmp_path / "export" / "model.npz", x, y)
    assert acc == pytest.approx(float(metrics["test/acc"]), abs=1e-6)
    assert record["export/model_bytes"] < 70_000 < record["export/ckpt_bytes"]


def test_export_prints_its_self_check_and_the_file_checksum(synthetic_run, tmp_path: Path,
                                                            capsys: pytest.CaptureFixture) -> None:
    _export(synthetic_run["ckpt"], tmp_path, "self_check_samples=16")
    out = capsys.readouterr().out
    model_file = tmp_path / "model.npz"
    assert "self-check: 16/16 random samples identical" in out
    assert f"{model_file}: sha256 {sha256_file(model_file)}" in out
