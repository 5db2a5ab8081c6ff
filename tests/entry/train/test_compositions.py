"""Every experiment composes and runs; every data x model pair survives fast_dev_run."""

from __future__ import annotations

from pathlib import Path

import pytest

from bstdg.train import CONFIG_DIR, train
from helpers.hydra_compose import SYNTHETIC
from helpers.net_configs import MODELS

_FILES = sorted((Path(CONFIG_DIR) / "experiment").glob("*.yaml"))
# data=tonic experiments run on fake files in tonic's layouts in test_tonic_experiments.py
TONIC = sorted(p.stem for p in _FILES if "override /data: tonic" in p.read_text())
EXPERIMENTS = [p.stem for p in _FILES if p.stem not in TONIC]
FAST_DEV = ["debug=fdr", "logger=none", "callbacks=none"]


def _data_overrides(name: str, request: pytest.FixtureRequest) -> list[str]:
    """Point a data config at small fake files in the true format."""
    if name == "synthetic":
        return ["data=synthetic"]
    if name in ("mnist", "fmnist"):
        return [f"data={name}", f"data.data_dir={request.getfixturevalue('mnist_root')}",
                "data.val_size=20"]
    if name == "caltech_face_motorbike":
        return [f"data={name}", f"data.data_dir={request.getfixturevalue('caltech_root')}",
                "data.resize=[8,10]", "data.train_per_class=8"]
    return ["data=shd", f"data.data_dir={request.getfixturevalue('shd_root')}",
            "encoder=shd_first_spike"]


def _experiment_data(experiment: str, request: pytest.FixtureRequest) -> list[str]:
    """SHD and Caltech experiments run on fake files in their own format (so their own
    preprocessing, e.g. Caltech's DoG ON/OFF filter, is exercised); the others on synthetic
    data."""
    if experiment.startswith("shd"):
        return _data_overrides("shd", request)
    if experiment.startswith("caltech"):
        # fake 8x10 images: the input count follows the experiment's filter
        return _data_overrides("caltech_face_motorbike", request)
    return _data_overrides("synthetic", request)


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_experiment_composes_and_runs(make_cfg, request, experiment: str) -> None:
    cfg = make_cfg(f"experiment={experiment}", *_experiment_data(experiment, request), *FAST_DEV)
    assert cfg.run_name == experiment
    metrics, objects = train(cfg)
    assert objects["model"].net.sizes[1:-1] == list(cfg.model.net.hidden)
    acc = float(metrics["test/acc"])
    assert acc <= float(metrics["test/acc_ties"])  # ties only add correct samples


def test_every_tonic_experiment_has_its_own_run_test() -> None:
    tested = (Path(__file__).parent / "test_tonic_experiments.py").read_text()
    assert TONIC and all(f"experiment={name}" in tested for name in TONIC), TONIC


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("data", ["synthetic", "mnist", "fmnist", "caltech_face_motorbike", "shd"])
def test_fast_dev_run_every_data_and_model(make_cfg, request, data: str, model: str) -> None:
    cfg = make_cfg(*_data_overrides(data, request), f"model={model}", "encoder.T=16", *FAST_DEV)
    metrics, objects = train(cfg)
    n_classes = {"synthetic": 4, "caltech_face_motorbike": 2, "shd": 20}.get(data, 10)
    assert objects["model"].net.sizes[-1] == n_classes
    assert float(metrics["test/acc"]) <= float(metrics["test/acc_ties"])


def test_synthetic_quickstart_defaults(make_cfg) -> None:
    cfg = make_cfg(*SYNTHETIC)
    assert cfg.data._target_.endswith("SyntheticDataModule") and cfg.encoder.T == 32
