"""Input size and class count come from the DataModule, not from the config.

Checkpoints of earlier versions (``data.n_inputs``/``data.n_classes`` stored for the real-data
modules, the training policies among the model's settings, or no stored run config) are
refused with the command that converts them; converted, they evaluate, export and load as
before. A config written now that sets the sizes is refused with a message naming the key.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from hydra.core.global_hydra import GlobalHydra
from hydra.errors import ConfigCompositionException
from omegaconf import OmegaConf

import bstdg
from bstdg.convert import convert_checkpoint
from bstdg.convert import main as convert_main
from bstdg.data import InvalidDataConfigError
from bstdg.data.config import check_size_keys
from bstdg.eval import evaluate
from bstdg.export import export
from bstdg.lit.module import SpikingClassifier
from bstdg.train import build, train
from bstdg.utils.checkpoint import OutdatedCheckpointError
from bstdg.utils.checks import ConfigError
from bstdg.utils.task import run_task, without_hydra
from helpers.data_fakes import write_mnist_like
from helpers.hydra_compose import FAST, compose_cfg

LEGACY = {"n_inputs": 784, "n_classes": 10}  # what mnist.yaml declared before
# model settings of earlier versions (training policies and the scheduler interval)
EARLIER_MODEL = {"dead_neuron_min_rate": 0.0, "dead_neuron_revival": "full",
                 "stop_on_silence": True, "scheduler_interval": "step"}


def _train_overrides(root: Path) -> list[str]:
    return [*FAST, "data=mnist", f"data.data_dir={root}", "data.val_size=20", "logger=none",
            "seed=3", "encoder.T=16", "model.net.hidden=[16]", "trainer.max_epochs=1",
            "model.net.threshold_init=[8.0,4.0]"]


@pytest.fixture(scope="module")
def mnist_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A 1-epoch run on fake MNIST files, with its run folder (.hydra/config.yaml)."""
    base = tmp_path_factory.mktemp("sizes")
    root = base / "data"
    write_mnist_like(root / "MNIST" / "raw", seed=1)
    run_dir = base / "run"
    cfg = compose_cfg("train.yaml", _train_overrides(root), run_dir)
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(without_hydra(cfg)))
    metrics, objects = train(cfg)
    GlobalHydra.instance().clear()
    assert float(metrics["test/no_output_spike_frac"]) < 1.0  # a model that decides
    yield {"root": root, "run_dir": run_dir, "ckpt": Path(objects["last_ckpt_path"])}


def _earlier_copies(run: dict[str, Any], dest: Path) -> tuple[Path, Path]:
    """(lone checkpoint whose stored run config declares the sizes and the model's training
    policies, run folder whose .hydra/config.yaml does and whose checkpoint has no run
    config), as written by earlier versions."""
    checkpoint = torch.load(run["ckpt"], map_location="cpu", weights_only=True)
    stored = checkpoint["hyper_parameters"]["run_config"]
    assert "n_inputs" not in stored["data"]
    stored["data"].update(LEGACY)
    stored["model"].update(EARLIER_MODEL)
    checkpoint["hyper_parameters"].update(EARLIER_MODEL)
    lone = dest / "lone" / "old.ckpt"
    lone.parent.mkdir(parents=True)
    torch.save(checkpoint, lone)

    run_dir = dest / "run"
    shutil.copytree(run["run_dir"], run_dir)
    config = OmegaConf.load(run_dir / ".hydra" / "config.yaml")
    config.data.update(LEGACY)
    config.model.update(EARLIER_MODEL)
    (run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(config))
    del checkpoint["hyper_parameters"]["run_config"]
    torch.save(checkpoint, run_dir / "checkpoints" / "last.ckpt")
    return lone, run_dir


def _eval(ckpt: Path, out: Path, *overrides: str) -> dict[str, Any]:
    cfg = compose_cfg("eval.yaml", ["trainer.enable_progress_bar=false",
                                    "extras.print_config=false", "logger=none",
                                    "callbacks.inference_timer=null", f"ckpt_path={ckpt}",
                                    *overrides], out)
    metrics, _ = evaluate(cfg)
    GlobalHydra.instance().clear()
    return {k: float(v) for k, v in metrics.items() if k.startswith("test/")}


def test_runs_of_earlier_versions_are_converted_once(mnist_run, tmp_path: Path) -> None:
    lone, run_dir = _earlier_copies(mnist_run, tmp_path)
    in_folder = run_dir / "checkpoints" / "last.ckpt"
    for ckpt in (lone, in_folder):
        with pytest.raises(OutdatedCheckpointError, match=f"python -m bstdg.convert {ckpt}"):
            bstdg.load_run(ckpt)
        with pytest.raises(OutdatedCheckpointError, match="python -m bstdg.convert"):
            _eval(ckpt, tmp_path / "refused")
        with pytest.raises(OutdatedCheckpointError, match=f"python -m bstdg.convert {ckpt}"):
            SpikingClassifier.load_from_checkpoint(ckpt)
        assert convert_main([str(ckpt)]) == 0
        assert ckpt.with_name(f"{ckpt.name}.bak").is_file()

    reference = _eval(mnist_run["ckpt"], tmp_path / "eval_new")
    assert _eval(lone, tmp_path / "eval_lone") == reference
    assert _eval(in_folder, tmp_path / "eval_folder") == reference
    x = torch.randint(0, 256, (32, 784), dtype=torch.uint8)
    new = bstdg.load_run(mnist_run["ckpt"])
    for source in (lone, run_dir):
        loaded = bstdg.load_run(source)
        assert not {"n_inputs", "n_classes"} & set(loaded.config.data)  # clean for notebooks
        assert not set(EARLIER_MODEL) & set(loaded.config.model)
        assert torch.equal(loaded.model.predict_step(x, 0), new.model.predict_step(x, 0))

    out = tmp_path / "export"
    cfg = compose_cfg("export.yaml", ["extras.print_config=false", f"ckpt_path={lone}"], out)
    run_task(export, cfg)
    assert json.loads((out / "metrics.json").read_text())["status"] == "finished"


def test_eval_refuses_a_size_override(mnist_run, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"data\.n_inputs=100 is not an option of "
                                          r"MNISTDataModule.*come from the data"):
        _eval(mnist_run["ckpt"], tmp_path, "+data.n_inputs=100")
    with pytest.raises(ConfigCompositionException, match=r"data\.n_classes"):  # Hydra's
        _eval(mnist_run["ckpt"], tmp_path, "data.n_classes=10")


@pytest.mark.parametrize(
    "data,key",
    [("mnist", "n_inputs"), ("fmnist", "n_classes"), ("caltech_face_motorbike", "n_inputs"),
     ("shd", "n_classes")],
)
def test_train_refuses_declared_sizes(tmp_path: Path, data: str, key: str) -> None:
    # as in an experiment file of an earlier version (keys merged into the data section)
    cfg = compose_cfg("train.yaml", [*FAST, f"data={data}", "logger=none", f"+data.{key}=620"],
                      tmp_path)
    with pytest.raises(ConfigError) as exc:
        build(cfg)
    assert f"data.{key}=620 is not an option" in str(exc.value)
    assert "come from the data" in str(exc.value) and f"Remove data.{key}" in str(exc.value)
    # without "+", Hydra itself names the key: it is not in the data config any more
    with pytest.raises(ConfigCompositionException, match=f"data.{key}"):
        compose_cfg("train.yaml", [f"data={data}", f"data.{key}=620"], tmp_path)


def test_synthetic_data_keeps_its_size_parameters(tmp_path: Path) -> None:
    cfg = compose_cfg("train.yaml", [*FAST, "data=synthetic", "logger=none",
                                     "data.n_inputs=32", "data.n_classes=3"], tmp_path)
    datamodule, model = build(cfg)
    assert (datamodule.n_inputs, datamodule.n_classes) == (32, 3)
    assert model.net.sizes[0] == 32 and model.net.sizes[-1] == 3


@pytest.mark.parametrize(
    "target",
    ["bstdg.data.MNISTDataModule", "bstdg.data.mnist.MNISTDataModule",
     "bstdg.data.CaltechFaceMotorbikeDataModule", "bstdg.data.shd.SHDDataModule"],
)
def test_conversion_drops_the_sizes_of_real_data(target: str) -> None:
    data = {"_target_": target, "batch_size": 8, "n_inputs": None, "n_classes": 2}
    with pytest.raises(InvalidDataConfigError, match="data.n_inputs=None"):
        check_size_keys(OmegaConf.create(data))
    checkpoint = {"hyper_parameters": {"run_config": {"data": data, "model": {}}}}
    notes = convert_checkpoint(checkpoint)
    assert data == {"_target_": target, "batch_size": 8}
    assert any("data.n_inputs=None dropped" in note for note in notes)
    check_size_keys(OmegaConf.create(data))


@pytest.mark.parametrize("target", ["bstdg.data.SyntheticDataModule", "my.pkg.MNISTDataModule"])
def test_conversion_keeps_the_size_parameters_of_other_data(target: str) -> None:
    data = {"_target_": target, "n_inputs": 64, "n_classes": 4}
    convert_checkpoint({"hyper_parameters": {"run_config": {"data": data, "model": {}}}})
    assert data["n_inputs"] == 64 and data["n_classes"] == 4
