"""Issue 32: the holes a bad-input probe found (items 1, 2, 4, 5, 6, 7 and the SIGINT test).
Every table fails on the code before the fix (b7d851f)."""

from __future__ import annotations

import json
import math
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

import bstdg
from bstdg.convert import convert_file
from bstdg.data import CorruptDatasetError
from bstdg.data.idx import IMAGES_MAGIC, LABELS_MAGIC, read_idx
from bstdg.data.mnist import load_split
from bstdg.eval import evaluate
from bstdg.lit.module import SpikingClassifier
from bstdg.train import build, train
from bstdg.utils.checkpoint import CheckpointError
from bstdg.utils.checks import ConfigValueError, check_run_config
from bstdg.utils.instantiate import UnsafeTargetError, check_targets
from bstdg.utils.task import run_task
from helpers.data_fakes import write_idx
from helpers.hydra_compose import SYNTHETIC, trained_run

REPO = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 1-epoch synthetic run with its run folder (.hydra/config.yaml, checkpoints/)."""
    yield trained_run(tmp_path_factory.mktemp("trained"))


def _eval_cfg(make_cfg: Callable, ckpt: Path, out: Path):
    return make_cfg("logger=none", f"ckpt_path={ckpt}", config="eval.yaml", out=out)


def _edited_checkpoint(ckpt: Path, dest: Path, edit: Callable[[dict], None],
                       keep_run_config: bool = True) -> Path:
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    if not keep_run_config:
        checkpoint["hyper_parameters"].pop("run_config")
    edit(checkpoint)
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, dest)
    return dest


# 1. a saved config instantiates only the classes allowed for its key ------------------------

# The three targets of the issue: each reaches a class outside the project through a name a
# project module imports (``logging``, ``subprocess``, ``pathlib``).
def _hostile(marker: Path) -> list[tuple[str, dict[str, Any]]]:
    return [
        ("bstdg.report.hydra_callback.logging.FileHandler",
         {"filename": str(marker), "mode": "w"}),
        ("bstdg.utils.run_info.subprocess.Popen", {"args": ["touch", str(marker)]}),
        ("bstdg.report.tables.Path", {"_args_": [str(marker)]}),
    ]


TARGET_IDS = ["FileHandler", "Popen", "Path"]


def _assert_refused(exc: pytest.ExceptionInfo, key: str, target: str) -> None:
    message = str(exc.value)
    assert f"{key}._target_='{target}' is refused" in message, message


def _no_file(marker: Path) -> None:
    time.sleep(0.05)  # a Popen that ran would have touched it by now
    assert not marker.exists()


@pytest.mark.parametrize("key", ["encoder", "model.net", "loss"])
@pytest.mark.parametrize("which", range(3), ids=TARGET_IDS)
def test_checkpoint_targets_are_refused(make_cfg, trained, tmp_path: Path, key: str,
                                        which: int) -> None:
    marker = tmp_path / "created"
    target, args = _hostile(marker)[which]

    def edit(checkpoint: dict) -> None:
        stored = OmegaConf.create(checkpoint["hyper_parameters"]["run_config"])
        node = {"_target_": target, **args}
        if key == "model.net":
            node["_partial_"] = True
        OmegaConf.update(stored, key, node, force_add=True, merge=False)
        checkpoint["hyper_parameters"]["run_config"] = OmegaConf.to_container(stored)

    ckpt = _edited_checkpoint(trained["ckpt"], tmp_path / "lone" / "evil.ckpt", edit)
    with pytest.raises(UnsafeTargetError) as exc:
        evaluate(_eval_cfg(make_cfg, ckpt, tmp_path / "eval"))
    _assert_refused(exc, key, target)
    _no_file(marker)
    with pytest.raises(UnsafeTargetError) as exc:
        bstdg.load_run(ckpt)
    _assert_refused(exc, key, target)
    _no_file(marker)
    with pytest.raises(UnsafeTargetError) as exc:
        SpikingClassifier.load_from_checkpoint(ckpt)
    _assert_refused(exc, key, target)
    _no_file(marker)


@pytest.mark.parametrize("key", ["encoder", "data", "model.optimizer"])
@pytest.mark.parametrize("which", range(3), ids=TARGET_IDS)
def test_run_folder_targets_are_refused(make_cfg, trained, tmp_path: Path, key: str,
                                        which: int) -> None:
    """A checkpoint without a run_config is converted with its run folder's config, whose
    targets are checked then."""
    marker = tmp_path / "created"
    target, args = _hostile(marker)[which]
    run_dir = tmp_path / "run"
    shutil.copytree(trained["run_dir"], run_dir)
    ckpt = _edited_checkpoint(trained["ckpt"], run_dir / "checkpoints" / "last.ckpt",
                              lambda c: None, keep_run_config=False)
    cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    OmegaConf.update(cfg, key, {"_target_": target, **args}, force_add=True, merge=False)
    (run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    with pytest.raises(UnsafeTargetError) as exc:
        convert_file(ckpt)
    _assert_refused(exc, key, target)
    assert str((run_dir / ".hydra" / "config.yaml").resolve()) in str(exc.value)
    _no_file(marker)


@pytest.mark.slow
@pytest.mark.parametrize("which", range(3), ids=TARGET_IDS)
def test_cli_eval_refuses_a_tampered_checkpoint(trained, tmp_path: Path, which: int) -> None:
    marker = tmp_path / "created"
    target, args = _hostile(marker)[which]

    def edit(checkpoint: dict) -> None:
        checkpoint["hyper_parameters"]["run_config"]["encoder"] = {"_target_": target, **args}

    ckpt = _edited_checkpoint(trained["ckpt"], tmp_path / "evil.ckpt", edit)
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bstdg.eval", f"ckpt_path={ckpt}", "logger=none",
         f"hydra.run.dir={tmp_path / 'eval'}", "extras.print_config=false"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-3000:]
    assert f"encoder._target_='{target}' is refused" in proc.stderr
    assert not marker.exists()


@pytest.mark.parametrize(
    "key,target,why",
    [  # an attribute hop to a project class is refused too: the name must be the class's own
        ("model.net", "bstdg.lit.module.SpikingNet", "attribute"),
        # a project class where another group's class belongs
        ("encoder", "bstdg.data.MNISTDataModule", "not one of the classes allowed at encoder"),
        ("loss", "bstdg.lit.callbacks.FlushDenormals", "not one of the classes allowed at loss"),
        ("model.optimizer", "torch.optim.lr_scheduler.CosineAnnealingLR",
         "not one of the classes allowed at model.optimizer"),
        ("model.scheduler", "torch.optim.SGD",
         "not one of the classes allowed at model.scheduler"),
        ("data.sampler", "bstdg.data.MNISTDataModule", "no class may be instantiated"),
        ("model.optimizer", "torch.optim.optimizer.torch.load", "not a class"),
    ],
)
def test_group_allowlists(key: str, target: str, why: str) -> None:
    with pytest.raises(UnsafeTargetError) as exc:
        check_targets({"_target_": target}, "test", key)
    assert f"{key}._target_='{target}' is refused" in str(exc.value)
    assert why in str(exc.value)


def test_every_configured_target_is_allowed(make_cfg) -> None:
    """Every experiment passes the start-up checks, and its data/encoder/model/loss classes
    (public package names such as ``bstdg.snn.SpikingNet``, ``torch.optim.Adam``) pass, and
    so do the canonical names and the torch.optim optimisers and schedulers."""
    for path in sorted((REPO / "conf" / "experiment").glob("*.yaml")):
        cfg = make_cfg(f"experiment={path.stem}")
        for key in ("data", "encoder", "model", "loss"):
            check_targets(cfg[key], path.name, key)
        check_run_config(cfg)  # and the start-up checks take every shipped experiment
    for key, target in [("model.net", "bstdg.snn.layers.SpikingNet"),
                        ("model.scheduler", "torch.optim.lr_scheduler.PolynomialLR"),
                        ("model.scheduler", "torch.optim.lr_scheduler.LinearLR"),
                        ("model.optimizer", "torch.optim.AdamW"),
                        ("model.optimizer", "torch.optim.adam.Adam"),
                        ("data", "bstdg.data.mnist.MNISTDataModule"),
                        ("model.net.rule", "bstdg.snn.GradientRule")]:
        check_targets({"_target_": target}, "test", key)


# 2. an IDX file that declares 0 samples ---------------------------------------------------

def test_idx_with_zero_samples_names_the_file(tmp_path: Path) -> None:
    raw = tmp_path / "MNIST" / "raw"
    write_idx(raw / "train-images-idx3-ubyte.gz", np.zeros((0, 28, 28)))
    write_idx(raw / "train-labels-idx1-ubyte.gz", np.zeros((0,)))
    with pytest.raises(CorruptDatasetError) as exc:
        load_split(raw, "MNIST", train=True, verify=False)
    assert "train-images-idx3-ubyte.gz" in str(exc.value)
    assert "0 samples" in str(exc.value)
    with pytest.raises(CorruptDatasetError, match="train-labels-idx1-ubyte.gz.*0 samples"):
        read_idx(raw / "train-labels-idx1-ubyte.gz", LABELS_MAGIC)
    write_idx(raw / "ok.gz", np.zeros((2, 28, 28)))
    assert read_idx(raw / "ok.gz", IMAGES_MAGIC).shape == (2, 28, 28)


# 4. thresholds <= 0 are refused at start-up ------------------------------------------------

@pytest.mark.parametrize("value", ["[0.0,0.0]", "[-3.0,2.0]", "[3.0,0.0]", "0.0"])
def test_non_positive_thresholds_are_refused(make_cfg, value: str) -> None:
    cfg = make_cfg(*SYNTHETIC, f"model.net.threshold_init={value}")
    with pytest.raises(ConfigValueError) as exc:
        build(cfg)
    message = str(exc.value)
    assert "model.net.threshold_init" in message and "> 0" in message


def test_positive_thresholds_still_start(make_cfg) -> None:
    check_run_config(make_cfg(*SYNTHETIC, "model.net.threshold_init=[0.5,2.0]"))
    check_run_config(make_cfg(*SYNTHETIC, "model.net.threshold_init=4.0"))


# 5. unknown keys and impossible optimiser values fail at start-up -------------------------

@pytest.mark.parametrize(
    "override,key,cls",
    [("+model.net.foo=1", "model.net.foo", "bstdg.snn.SpikingNet"),
     ("+model.foo=1", "model.foo", "bstdg.lit.module.SpikingClassifier"),
     ("+model.optimizer.foo=1", "model.optimizer.foo", "torch.optim.Adam"),
     ("+model.scheduler.foo=1", "model.scheduler.foo",
      "torch.optim.lr_scheduler.CosineAnnealingLR"),
     ("+model.net.rule.foo=1", "model.net.rule.foo", "bstdg.snn.rules.GradientRule"),
     ("+data.foo=1", "data.foo", "bstdg.data.SyntheticDataModule")],
)
def test_unknown_keys_fail_at_start_up(make_cfg, monkeypatch, override: str, key: str,
                                       cls: str) -> None:
    import bstdg.train as train_module

    built = []
    monkeypatch.setattr(train_module, "instantiate_model", lambda *a, **k: built.append(a))
    cfg = make_cfg(*SYNTHETIC, override)
    with pytest.raises(ConfigValueError) as exc:
        build(cfg)
    message = str(exc.value)
    assert f"{key} is not a setting of" in message and cls in message, message
    assert "its settings:" in message and not built


@pytest.mark.parametrize(
    "override,key",
    [("model.optimizer.lr=-0.02", "model.optimizer.lr"),
     ("model.optimizer.weight_decay=-1.0", "model.optimizer.weight_decay"),
     ("+model.optimizer.eps=-1e-8", "model.optimizer.eps"),
     ("+model.optimizer.betas=[0.9,1.5]", "model.optimizer.betas"),
     ("+model.optimizer.betas=[0.9]", "model.optimizer.betas"),
     ("model.optimizer.lr=0.0", "model.optimizer.lr"),
     ("model.optimizer.lr=abc", "model.optimizer.lr")],
)
def test_impossible_optimizer_values_name_the_key(make_cfg, override: str, key: str) -> None:
    cfg = make_cfg(*SYNTHETIC, override)
    with pytest.raises(ConfigValueError) as exc:
        check_run_config(cfg)
    assert str(exc.value).startswith(key), str(exc.value)


def test_sgd_momentum_is_checked(make_cfg) -> None:
    cfg = make_cfg(*SYNTHETIC, "model=s4nn", "model.optimizer.momentum=-0.5")
    with pytest.raises(ConfigValueError, match=r"^model\.optimizer\.momentum"):
        check_run_config(cfg)
    check_run_config(make_cfg(*SYNTHETIC, "model=s4nn", "model.optimizer.momentum=0.9"))


# 6. non-finite weights or thresholds in a checkpoint are refused --------------------------

@pytest.mark.parametrize("name,value", [("net.layers.0.weight", math.nan),
                                        ("net.layers.1.threshold", math.inf)])
def test_non_finite_checkpoint_is_refused(make_cfg, trained, tmp_path: Path, name: str,
                                          value: float) -> None:
    def edit(checkpoint: dict) -> None:
        tensor = checkpoint["state_dict"][name].contiguous().clone()
        tensor.view(-1)[0] = value
        checkpoint["state_dict"][name] = tensor

    ckpt = _edited_checkpoint(trained["ckpt"], tmp_path / "bad.ckpt", edit)
    for load in (bstdg.load_run, SpikingClassifier.load_from_checkpoint,
                 lambda p: evaluate(_eval_cfg(make_cfg, p, tmp_path / "eval"))):
        with pytest.raises(CheckpointError) as exc:
            load(ckpt)
        message = str(exc.value)
        assert str(ckpt) in message and name in message and "finite" in message, message


# 7. a resumed run keeps the training metrics of the run it continues ----------------------

def _record(path: Path) -> dict[str, Any]:
    return json.loads((path / "metrics.json").read_text())


def test_resume_at_the_end_keeps_the_training_metrics(make_cfg, tmp_path: Path) -> None:
    timing = ["callbacks.inference_timer=null", "callbacks.throughput=null"]
    first = tmp_path / "first"
    run_task(train, make_cfg(*SYNTHETIC, *timing, "trainer.max_epochs=1", out=first))
    before = _record(first)
    last = first / "checkpoints" / "last.ckpt"
    resumed = tmp_path / "resumed"
    run_task(train, make_cfg(*SYNTHETIC, *timing, "trainer.max_epochs=1", f"ckpt_path={last}",
                             out=resumed))
    after = _record(resumed)
    trained_keys = [k for k in before if k.startswith("train/")]
    assert trained_keys and "train/acc" in trained_keys
    for key in trained_keys:
        assert after[key] == before[key], key
    assert after["val/acc"] == before["val/acc"]
    assert after["resumed_train_metrics_from"] == str(first / "metrics.json")
    assert after["status"] == "finished" and after["test/acc"] == before["test/acc"]
    assert "resumed_train_metrics_from" not in before
    # a resumed run that trains on logs its own training metrics and carries nothing
    more = tmp_path / "more"
    run_task(train, make_cfg(*SYNTHETIC, *timing, "trainer.max_epochs=2", f"ckpt_path={last}",
                             out=more))
    assert "resumed_train_metrics_from" not in _record(more)
    assert "train/acc" in _record(more)


# SIGINT to the run's process group (Ctrl+C in a terminal) ---------------------------------

@pytest.mark.slow
def test_cli_sigint_to_the_process_group_exits_130(tmp_path: Path) -> None:
    run = tmp_path / "int"
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "bstdg.train", "experiment=synthetic_quickstart", "logger=none",
         "trainer.enable_progress_bar=false", "extras.print_config=false",
         "trainer.max_epochs=1000", f"hydra.run.dir={run}"],
        cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True)  # its own process group, as a terminal's foreground job
    try:
        deadline = time.time() + 240
        while not (run / "checkpoints" / "last.ckpt").is_file():
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.time() < deadline, "no checkpoint appeared"
            time.sleep(0.2)
        os.killpg(proc.pid, signal.SIGINT)
        _, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.communicate()
    assert proc.returncode == 130, err[-3000:]
    record = _record(run)
    assert record["status"] == "interrupted" and "Ctrl+C" in record["error"]
    assert Path(record["last_ckpt_path"]) == run / "checkpoints" / "last.ckpt"
