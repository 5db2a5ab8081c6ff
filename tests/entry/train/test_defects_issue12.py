"""Issue 12, defects 1-8: one table per defect, each case asserting the message or the
behaviour (every table fails on the code before the fix)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import h5py
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf
from PIL import Image

import bstdg
import bstdg.train as train_module
from bstdg.convert import convert_file
from bstdg.convert import main as convert_main
from bstdg.data import CaltechFaceMotorbikeDataModule, CorruptDatasetError
from bstdg.data.shd import load_shd
from bstdg.eval import evaluate, with_run_config
from bstdg.lit.module import SpikingClassifier
from bstdg.snn import GradientRule, SpikingLinear, SpikingNet, first_spike_times
from bstdg.snn.losses import RelativeTargetMSE
from bstdg.train import train
from bstdg.utils.checkpoint import CheckpointError, read_checkpoint
from bstdg.utils.instantiate import UnsafeTargetError, instantiate_loggers
from bstdg.utils.task import run_entry_point, run_task
from helpers.data_fakes import write_shd_h5
from helpers.hydra_compose import SYNTHETIC, trained_run

T_RUN = 32  # synthetic_quickstart's encoder.T; eval.yaml's default encoder is T = 64


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 1-epoch synthetic run with its run folder (.hydra/config.yaml, checkpoints/)."""
    yield trained_run(tmp_path_factory.mktemp("trained"))


def _eval_cfg(make_cfg: Callable, ckpt: Path, *overrides: str, out: Path):
    return make_cfg("logger=none", f"ckpt_path={ckpt}", *overrides, config="eval.yaml", out=out)


def _metrics(path: Path) -> dict[str, Any]:
    return json.loads((path / "metrics.json").read_text())


def _old_style(ckpt: Path, dest: Path, edit: Callable[[dict], None] | None = None) -> Path:
    """A copy of ``ckpt`` as older bstdg wrote it (no run_config), optionally edited."""
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    checkpoint["hyper_parameters"].pop("run_config")
    if edit is not None:
        edit(checkpoint)
    dest.parent.mkdir(parents=True, exist_ok=True)
    torch.save(checkpoint, dest)
    return dest


# 1. bstdg-eval overrides are parsed by Hydra (typed), and eval says what it accepts -------

@pytest.mark.parametrize(
    "override,key,value",
    [("data.batch_size=1000", "data.batch_size", 1000),
     ("encoder.T=64", "encoder.T", 64),
     ("model.net.hidden=[100]", "model.net.hidden", [100]),
     ("model.net.window_trim=1", "model.net.window_trim", 1),
     ("seed=3", "seed", 3)],
)
def test_eval_overrides_are_typed(make_cfg, trained, tmp_path: Path, override: str, key: str,
                                  value: Any) -> None:
    run_cfg = OmegaConf.load(trained["run_dir"] / ".hydra" / "config.yaml")
    cfg = _eval_cfg(make_cfg, trained["ckpt"], override, out=tmp_path)
    merged = with_run_config(cfg, run_cfg, [override])
    got = OmegaConf.select(merged, key)
    assert (OmegaConf.to_container(got) if OmegaConf.is_config(got) else got) == value
    assert merged.run_name == "synthetic_quickstart"  # the rest comes from the run


def test_readme_eval_example_runs(make_cfg, trained, tmp_path: Path) -> None:
    cfg = _eval_cfg(make_cfg, trained["ckpt"], "data.batch_size=1000", out=tmp_path)
    metrics, objects = evaluate(cfg)
    assert objects["datamodule"].batch_size == 1000
    assert float(metrics["test/acc"]) == trained["test_acc"]


@pytest.mark.parametrize("arg", ["experiment=mnist_bstdg", "+experiment=mnist_bstdg",
                                 "hparams_search=mnist_optuna"])
def test_eval_refuses_train_only_groups_with_usage(monkeypatch, capsys, arg: str) -> None:
    import bstdg.eval as eval_module

    monkeypatch.setattr(sys, "argv", ["bstdg-eval", "ckpt_path=x.ckpt", arg])
    with pytest.raises(SystemExit) as exc:
        eval_module.main()
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"{arg} is a bstdg-train option" in err and "ckpt_path=RUN/checkpoints/last.ckpt" in err


# 2. a saved run config may instantiate only the project's classes -------------------------

HOSTILE = [
    ("model.scheduler", "os.makedirs", "not one of the project's classes"),
    ("model.optimizer", "torch.load", "not one of the project's classes"),
    ("loss", "builtins.eval", "not one of the project's classes"),
    ("encoder", "bstdg.utils.metrics_file.write_metrics", "not a class"),
    ("data", "bstdg.lit.module.SpikingClassifier.load_from_checkpoint", "not a class"),
]


@pytest.mark.parametrize("where", ["run folder config", "checkpoint run_config"])
@pytest.mark.parametrize("key,target,why", HOSTILE)
def test_saved_config_targets_are_refused(make_cfg, trained, tmp_path: Path, where: str,
                                          key: str, target: str, why: str) -> None:
    marker = tmp_path / "pwned"
    node = {"_target_": target, "name": str(marker)}
    if where == "run folder config":  # the conversion refuses it
        run_dir = tmp_path / "run"
        shutil.copytree(trained["run_dir"], run_dir)
        ckpt = _old_style(trained["ckpt"], run_dir / "checkpoints" / "last.ckpt")
        cfg = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
        OmegaConf.update(cfg, key, node, force_add=True, merge=False)
        (run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
        with pytest.raises(UnsafeTargetError) as exc:
            convert_file(ckpt)
        assert f"{key}._target_='{target}' is refused" in str(exc.value)
        assert not marker.exists()
        return
    else:
        def edit(checkpoint: dict) -> None:
            stored = trained_config(trained["ckpt"])
            OmegaConf.update(stored, key, node, force_add=True, merge=False)
            checkpoint["hyper_parameters"]["run_config"] = OmegaConf.to_container(stored)

        ckpt = _old_style(trained["ckpt"], tmp_path / "lone" / "evil.ckpt", edit)
    with pytest.raises(UnsafeTargetError) as exc:
        evaluate(_eval_cfg(make_cfg, ckpt, out=tmp_path / "eval"))
    message = str(exc.value)
    assert f"{key}._target_='{target}' is refused" in message and why in message
    assert not marker.exists()
    if where == "checkpoint run_config":
        with pytest.raises(UnsafeTargetError, match=f"{key}._target_"):
            bstdg.load_run(ckpt)
        if key.startswith("model.") or key in ("encoder", "loss"):
            with pytest.raises(UnsafeTargetError, match=f"{key}._target_"):
                SpikingClassifier.load_from_checkpoint(ckpt)
    assert not marker.exists()


def trained_config(ckpt: Path):
    checkpoint = torch.load(ckpt, map_location="cpu", weights_only=True)
    return OmegaConf.create(checkpoint["hyper_parameters"]["run_config"])


# 3. a checkpoint carries what its model needs ------------------------------------------

def test_lone_checkpoint_evaluates_with_its_own_settings(make_cfg, trained, tmp_path) -> None:
    lone = tmp_path / "elsewhere" / "model.ckpt"
    lone.parent.mkdir()
    shutil.copy(trained["ckpt"], lone)
    seen: dict[str, Any] = {}

    def task(cfg, objects):
        metrics, objects = evaluate(cfg, objects)
        seen.update(T=objects["model"].T, encoder_T=objects["model"].encoder.T)
        return metrics, objects

    run_task(task, _eval_cfg(make_cfg, lone, out=tmp_path / "eval"))
    assert seen == {"T": T_RUN, "encoder_T": T_RUN}
    record = _metrics(tmp_path / "eval")
    assert record["cfg/encoder.T"] == T_RUN and record["test/acc"] == trained["test_acc"]


@pytest.mark.parametrize("source", ["run_dir", "ckpt"])
def test_load_run_and_load_from_checkpoint(trained, source: str) -> None:
    model, encoder, config, ckpt = bstdg.load_run(trained[source])
    assert ckpt.is_file() and not model.training
    assert model.T == encoder.T == config.encoder.T == T_RUN
    plain = SpikingClassifier.load_from_checkpoint(trained["ckpt"])
    assert plain.T == T_RUN
    for name, value in plain.state_dict().items():
        assert torch.equal(value, model.state_dict()[name]), name
    x = torch.randint(0, 256, (16, 64), dtype=torch.uint8)
    assert torch.equal(model.predict_step(x, 0), plain.predict_step(x, 0))


def test_checkpoint_hparams_are_plain_and_load_weights_only(trained) -> None:
    checkpoint = torch.load(trained["ckpt"], map_location="cpu", weights_only=True)
    stored = checkpoint["hyper_parameters"]["run_config"]
    assert stored["encoder"]["T"] == T_RUN and stored["model"]["net"]["hidden"] == [64]
    assert stored["data"]["seed"] == "${seed}"  # data keeps its interpolations (portable)


@pytest.mark.parametrize("in_run_folder", [False, True])
def test_older_checkpoints(make_cfg, trained, tmp_path: Path, in_run_folder: bool) -> None:
    """A checkpoint without run_config gets one message, the command that converts it; the
    conversion takes its run folder's config."""
    if in_run_folder:
        run_dir = tmp_path / "run"
        shutil.copytree(trained["run_dir"], run_dir)
        ckpt = _old_style(trained["ckpt"], run_dir / "checkpoints" / "last.ckpt")
    else:
        ckpt = _old_style(trained["ckpt"], tmp_path / "lone" / "old.ckpt")
    with pytest.raises(CheckpointError, match=f"python -m bstdg.convert {ckpt}"):
        evaluate(_eval_cfg(make_cfg, ckpt, out=tmp_path / "eval"))
    with pytest.raises(SystemExit) as exc:  # the console script: a message, no traceback
        run_entry_point("bstdg-eval", evaluate, _eval_cfg(make_cfg, ckpt, out=tmp_path / "e2"))
    assert str(exc.value.code).startswith("bstdg-eval: error: checkpoint")
    with pytest.raises(CheckpointError, match=f"python -m bstdg.convert {ckpt}"):
        SpikingClassifier.load_from_checkpoint(ckpt)
    if not in_run_folder:  # nothing to convert it from
        assert convert_main([str(ckpt)]) == 1
        return
    assert convert_main([str(ckpt)]) == 0
    metrics, _ = evaluate(_eval_cfg(make_cfg, ckpt, out=tmp_path / "eval"))
    assert float(metrics["test/acc"]) == trained["test_acc"]
    assert bstdg.load_run(run_dir).model.T == T_RUN


# 4. run status: exit codes, W&B exit code, interrupted with last.ckpt ------------------

class _At(pl.Callback):
    """Does ``action`` at the end of training epoch ``epoch``."""

    def __init__(self, epoch: int, action: Callable[[], None]) -> None:
        self.epoch, self.action = epoch, action

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.current_epoch == self.epoch:
            self.action()


def _raise(exc: BaseException) -> Callable[[], None]:
    def action() -> None:
        raise exc
    return action


@pytest.fixture
def restore_signals() -> Iterator[None]:
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM)}
    yield
    for s, h in handlers.items():
        signal.signal(s, h)


@pytest.mark.parametrize(
    "action,status,code,error",
    [(lambda: os.kill(os.getpid(), signal.SIGTERM), "interrupted", 143, "SIGTERM"),
     (_raise(KeyboardInterrupt()), "interrupted", 130, "Ctrl+C"),
     (_raise(RuntimeError("boom")), "failed", None, "RuntimeError: boom")],
    ids=["sigterm", "ctrl-c", "failure"],
)
def test_run_status_and_exit_code(make_cfg, tmp_path: Path, monkeypatch, restore_signals,
                                  action, status: str, code: int | None, error: str) -> None:
    original = train_module.instantiate_callbacks
    monkeypatch.setattr(train_module, "instantiate_callbacks",
                        lambda c: [*original(c), _At(1, action)])
    finished = []
    monkeypatch.setattr("bstdg.utils.task.finish_wandb", lambda exit_code=0:
                        finished.append(exit_code))
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=3")
    with pytest.raises(BaseException) as exc:
        run_task(train, cfg)
    if code is None:
        assert isinstance(exc.value, RuntimeError)
    else:
        assert isinstance(exc.value, SystemExit) and exc.value.code == code
    metrics = _metrics(tmp_path)
    assert metrics["status"] == status and error in metrics["error"]
    assert metrics["last_ckpt_path"] == str(tmp_path / "checkpoints" / "last.ckpt")
    assert Path(metrics["last_ckpt_path"]).is_file()
    assert finished and finished[-1] != 0  # W&B closed as failed


def test_finished_run_closes_wandb_with_zero(make_cfg, tmp_path: Path, monkeypatch) -> None:
    finished = []
    monkeypatch.setattr("bstdg.utils.task.finish_wandb", lambda exit_code=0:
                        finished.append(exit_code))
    run_task(lambda cfg, objects: ({}, objects), make_cfg(*SYNTHETIC))
    assert finished == [0] and _metrics(tmp_path)["status"] == "finished"


def test_running_status_is_written_first(make_cfg, tmp_path: Path) -> None:
    seen = {}

    def task(cfg, objects):
        seen.update(_metrics(tmp_path))
        return {}, objects

    run_task(task, make_cfg(*SYNTHETIC))
    assert seen["status"] == "running" and seen["experiment"] == "synthetic_quickstart"


# 5. impossible hyperparameters are refused; a silent or NaN run stops --------------------

@pytest.mark.parametrize(
    "override,message",
    [("model.net.threshold_init=[nan,nan]",
      r"model.net.threshold_init\[0\]=nan is invalid: it must be finite firing thresholds"),
     ("model.net.threshold_init=[3.0,inf]", r"model.net.threshold_init\[1\]=inf is invalid"),
     ("model.net.rule.tau=nan", r"model.net.rule.tau=nan is invalid: it must be a finite "
                                r"number of time steps > 0, or null"),
     ("model.net.rule.A=nan", r"model.net.rule.A=nan is invalid: it must be a finite kernel"),
     ("model.net.delay=32", r"model.net.delay=32 is invalid for encoder.T=32: it must lie in "
                            r"\[0, 31\]"),
     ("model.net.init_range=[-inf,inf]", r"model.net.init_range\[0\]=-inf is invalid: it must "
                                         r"be finite \[low, high\] with low < high"),
     ("model.optimizer.lr=nan", r"model.optimizer.lr=nan is invalid: it must be a finite "
                                r"learning rate > 0")],
)
def test_impossible_hyperparameters_refused_at_start(make_cfg, override: str,
                                                     message: str) -> None:
    with pytest.raises(ValueError, match=message):
        train(make_cfg(*SYNTHETIC, override))


@pytest.mark.parametrize(
    "build,message",
    [(lambda: SpikingNet(4, 2, T=8, hidden=[3], threshold_init=[float("nan")] * 2),
      "threshold_init must be a finite number"),
     (lambda: SpikingLinear(4, 2, T=8, threshold_init=float("inf")),
      "threshold_init must be a finite number"),
     (lambda: SpikingLinear(4, 2, T=8, delay=8), r"delay must be an integer in \[0, T - 1\]"),
     (lambda: SpikingLinear(4, 2, T=8, delay=6, window_trim=2),
      r"\[0, T - 1 - window_trim\] = \[0, 5\]"),
     (lambda: SpikingLinear(4, 2, T=8, init_range=(-float("inf"), float("inf"))),
      "init_range must be .* both finite"),
     (lambda: GradientRule(tau=float("nan")), "rule.tau must be a finite number"),
     (lambda: GradientRule(A=float("nan")), "rule.A must be a finite number"),
     (lambda: SpikingNet(4, 2, T=8, hidden="abc"), "hidden must be a list of positive")],
)
def test_impossible_arguments_refused_by_the_core(build, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        build()


def test_silent_network_stops_with_a_message(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg(*SYNTHETIC, "model.net.threshold_init=[1000.0,1000.0]", "trainer.max_epochs=4")
    outcome: dict[str, Any] = {}
    run_task(train, cfg, outcome)
    metrics = _metrics(tmp_path)
    assert metrics["status"] == "stopped" == outcome["status"]
    assert "no output neuron fired on any training sample" in metrics["error"]
    assert metrics["train/no_output_spike_frac"] == 1.0
    assert metrics["cfg/trainer.max_epochs"] == 4
    assert metrics["val/acc_best"] == metrics["val/acc"]  # one validation: the best is it
    last = torch.load(tmp_path / "checkpoints" / "last.ckpt", weights_only=True)
    assert last["epoch"] == 0  # one epoch, not four
    with pytest.raises(SystemExit) as exc:  # a single run exits non-zero
        run_entry_point("bstdg-train", train, make_cfg(
            *SYNTHETIC, "model.net.threshold_init=[1000.0,1000.0]", "trainer.max_epochs=4",
            out=tmp_path / "again"))
    assert exc.value.code == 1


def test_nan_loss_stops_the_run(make_cfg, tmp_path: Path, monkeypatch) -> None:
    original = RelativeTargetMSE.__call__
    monkeypatch.setattr(RelativeTargetMSE, "__call__",
                        lambda self, *a: original(self, *a) * float("nan"))
    with pytest.raises(FloatingPointError, match="train/loss is nan at epoch 0, step 0"):
        run_task(train, make_cfg(*SYNTHETIC, "trainer.max_epochs=2"))
    metrics = _metrics(tmp_path)
    assert metrics["status"] == "failed" and "train/loss is nan" in metrics["error"]


# 6. spike times and weights are checked on every backend --------------------------------

def _times(value: float) -> torch.Tensor:
    t = torch.tensor([[0.0, 3.0, 8.0, 1.0]])
    t[0, 1] = value
    return t


BAD_CALLS = [
    ("nan time", _times(float("nan")), None, None, r"spike times must lie in .*1 NaN"),
    ("inf time", _times(float("inf")), None, None, r"spike times must lie in .*1 infinite"),
    ("fraction", _times(2.5), None, None, r"1 non-integer \(e.g. 2.5\)"),
    ("negative", _times(-1.0), None, None, r"spike times must lie in \[0, T=8\]"),
    ("+inf weight", None, (0, 1, float("inf")), None, "weight must be finite"),
    ("nan weight", None, (1, 2, float("nan")), None, "weight must be finite"),
    ("nan threshold", None, None, float("nan"), "threshold must be finite"),
]


@pytest.mark.parametrize("backend", ["reference", "torch", "numba"])
@pytest.mark.parametrize("case,t_in,bad_w,theta,message", BAD_CALLS, ids=[c[0] for c in BAD_CALLS])
@pytest.mark.parametrize("api", ["first_spike_times", "SpikingLinear", "predict_early_exit"])
def test_bad_times_and_weights_refused(api: str, backend: str, case: str, t_in, bad_w, theta,
                                       message: str) -> None:
    t_in = _times(0.0) if t_in is None else t_in
    weight = torch.ones(3, 4)
    if bad_w is not None:
        weight[bad_w[0], bad_w[1]] = bad_w[2]
    threshold = 1.5 if theta is None else theta
    net = SpikingNet(4, 3, T=8, hidden=[], threshold_mode="fixed", threshold_init=1.5,
                     init_range=[-1.0, 1.0], backend=backend)
    with torch.no_grad():
        net.layers[0].weight.copy_(weight)
        net.layers[0].threshold.fill_(threshold)
    with pytest.raises(ValueError, match=message):
        if api == "first_spike_times":
            first_spike_times(t_in, weight, threshold, T=8, backend=backend)
        else:
            if api == "SpikingLinear":
                net.layers[0](t_in)
            else:
                net.predict_early_exit(t_in)


# 7. smaller defects -------------------------------------------------------------------

def test_shd_sample_with_unequal_times_and_units(tmp_path: Path) -> None:
    path = tmp_path / "SHD" / "shd_train.h5"
    write_shd_h5(path, 8, seed=0)
    with h5py.File(path, "a") as fh:
        n = len(fh["spikes/times"][5])
        fh["spikes/units"][5] = np.arange(n + 2, dtype=np.uint16)
    with pytest.raises(CorruptDatasetError) as exc:
        load_shd(tmp_path, train=True)
    assert str(path) in str(exc.value)
    assert f"sample 5 has {n} spike times but {n + 2} unit ids" in str(exc.value)


def _jpeg(path: Path, seed: int) -> None:
    pixels = np.random.default_rng(seed).integers(0, 256, (20, 30), dtype=np.uint8)
    Image.fromarray(pixels, "L").save(path)


def test_caltech_skips_macos_resource_forks(caltech_root: Path) -> None:
    faces = caltech_root / "caltech101" / "101_ObjectCategories" / "Faces"
    (faces / "._image_0001.jpg").write_bytes(b"\x00\x05\x16\x07 AppleDouble")
    dm = CaltechFaceMotorbikeDataModule(str(caltech_root), resize=[12, 20], train_per_class=5,
                                        val_size=2)
    dm.setup("fit")
    assert len(dm.train_set) + len(dm.val_set) + len(dm.test_set) == 12 + 15


def test_caltech_one_image_class_message(caltech_root: Path) -> None:
    solo = caltech_root / "caltech101" / "101_ObjectCategories" / "Solo"
    solo.mkdir()
    _jpeg(solo / "image_0001.jpg", 0)
    dm = CaltechFaceMotorbikeDataModule(str(caltech_root), classes=["Faces", "Solo"],
                                        resize=[12, 20], train_per_class=1, val_size=0)
    with pytest.raises(ValueError) as exc:
        dm.setup("fit")
    assert "class 'Solo' has 1 image(s)" in str(exc.value) and "1..0" not in str(exc.value)


@pytest.mark.parametrize(
    "override,message",
    [("model.net.hidden=abc", "model.net.hidden='abc' is invalid: give the hidden layer sizes "
                              "as a list of positive integers, e.g. model.net.hidden=[600]"),
     ("seed=abc", "seed='abc' is invalid: give an integer, e.g. seed=1"),
     ("trainer.max_epochs=abc", "trainer.max_epochs='abc' is invalid: give an integer number "
                                "of epochs")],
)
def test_unclear_values_get_clear_messages(make_cfg, tmp_path: Path, override: str,
                                           message: str) -> None:
    with pytest.raises(SystemExit) as exc:  # no traceback: the message is the exit text
        run_entry_point("bstdg-train", train, make_cfg(*SYNTHETIC, override))
    assert str(exc.value.code).startswith(f"bstdg-train: error: {message}")
    assert _metrics(tmp_path)["status"] == "failed"


@pytest.mark.parametrize(
    "overrides,message",
    [(["experiment=mnist_bstdg", "logger=none", "loss=ce_neg_time"],
      "loss.gamma is not a setting of loss bstdg.snn.NegTimeCrossEntropy (its settings: "
      "temperature). It usually comes from an experiment written for another loss: drop it "
      "with '~loss.gamma'"),
     ([*SYNTHETIC, "+encoder.width=3"],
      "encoder.width is not a setting of encoder bstdg.encoding.LatencyEncoder")],
)
def test_a_setting_of_another_group_choice_is_named(make_cfg, tmp_path: Path,
                                                     overrides: list[str], message: str) -> None:
    with pytest.raises(SystemExit) as exc:
        run_entry_point("bstdg-train", train, make_cfg(*overrides))
    assert str(exc.value.code).startswith(f"bstdg-train: error: {message}")


def test_wandb_log_model_offline_does_not_crash(tmp_path: Path) -> None:
    cfg = OmegaConf.create({"wandb": {
        "_target_": "pytorch_lightning.loggers.wandb.WandbLogger", "save_dir": str(tmp_path),
        "offline": True, "project": "bstdg", "log_model": True}})
    with pytest.warns(UserWarning, match="log_model is ignored in offline mode"):
        (logger,) = instantiate_loggers(cfg)
    assert logger._log_model is False


# 8. checkpoints are read with weights_only=True -----------------------------------------

class Payload:
    """Something a checkpoint must not be able to unpickle."""


def test_every_checkpoint_read_is_weights_only(make_cfg, trained, tmp_path: Path,
                                               monkeypatch) -> None:
    calls = []
    original = torch.load

    def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(kwargs.get("weights_only"))
        return original(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    evaluate(_eval_cfg(make_cfg, trained["ckpt"], out=tmp_path / "eval"))
    train(make_cfg(*SYNTHETIC, "trainer.max_epochs=2", f"ckpt_path={trained['ckpt']}",
                   out=tmp_path / "resumed"))
    bstdg.load_run(trained["run_dir"])
    SpikingClassifier.load_from_checkpoint(trained["ckpt"])
    assert len(calls) >= 5 and all(c is True for c in calls), calls


def test_pickled_objects_in_a_checkpoint_are_refused(make_cfg, trained, tmp_path) -> None:
    checkpoint = torch.load(trained["ckpt"], map_location="cpu", weights_only=True)
    checkpoint["payload"] = Payload()
    evil = tmp_path / "evil.ckpt"
    torch.save(checkpoint, evil)
    with pytest.raises(CheckpointError, match="refused: it holds objects other than tensors"):
        read_checkpoint(evil)
    with pytest.raises(CheckpointError, match="refused"):
        evaluate(_eval_cfg(make_cfg, evil, out=tmp_path / "eval"))


# Console scripts (subprocesses) ---------------------------------------------------------

QUIET = ["experiment=synthetic_quickstart", "logger=none", "trainer.enable_progress_bar=false",
         "extras.print_config=false"]


def _start(module: str, *args: str, cwd: Path) -> subprocess.Popen:
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    return subprocess.Popen([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 240.0) -> None:
    deadline = time.time() + timeout
    while not path.is_file():
        assert proc.poll() is None, proc.communicate()[1][-3000:]
        assert time.time() < deadline, f"{path} did not appear"
        time.sleep(0.2)


@pytest.mark.slow
def test_cli_readme_eval_example(trained, tmp_path: Path) -> None:
    proc = _start("bstdg.eval", f"ckpt_path={trained['ckpt']}", "data.batch_size=1000",
                  f"hydra.run.dir={tmp_path / 'eval'}", "extras.print_config=false",
                  "trainer.enable_progress_bar=false", cwd=tmp_path)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err[-3000:]
    assert _metrics(tmp_path / "eval")["test/acc"] == trained["test_acc"]


@pytest.mark.slow
def test_cli_sigterm_exits_143_and_sigkill_leaves_running(tmp_path: Path) -> None:
    run = tmp_path / "term"
    proc = _start("bstdg.train", *QUIET, "trainer.max_epochs=1000", f"hydra.run.dir={run}",
                  cwd=tmp_path)
    _wait_for(run / "checkpoints" / "last.ckpt", proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=120)
    assert proc.returncode == 143
    metrics = _metrics(run)
    assert metrics["status"] == "interrupted" and "SIGTERM" in metrics["error"]
    assert Path(metrics["last_ckpt_path"]) == run / "checkpoints" / "last.ckpt"
    killed = tmp_path / "kill"
    proc = _start("bstdg.train", *QUIET, "trainer.max_epochs=1000", f"hydra.run.dir={killed}",
                  cwd=tmp_path)
    _wait_for(killed / "metrics.json", proc)
    proc.kill()
    proc.communicate(timeout=60)
    assert _metrics(killed)["status"] == "running"
