"""Sweep definitions stay in step with the config tree."""

from __future__ import annotations

from pathlib import Path

import yaml
from omegaconf import OmegaConf

from bstdg.train import CONFIG_DIR

SWEEPS = Path(CONFIG_DIR).parent / "sweeps"


def test_wandb_sweep_parameters_are_valid_overrides(make_cfg) -> None:
    spec = yaml.safe_load((SWEEPS / "wandb_mnist_bstdg.yaml").read_text())
    assert spec["command"][-1] == "${args_no_hyphens}"
    overrides = []
    for key, param in spec["parameters"].items():
        value = param.get("value", (param.get("values") or [param.get("min")])[0])
        overrides.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    cfg = make_cfg(*overrides)
    assert cfg.run_name == "mnist_bstdg"


def test_optuna_search_composes(make_cfg) -> None:
    cfg = make_cfg("hparams_search=mnist_optuna", "experiment=mnist_bstdg")
    assert cfg.hydra.sweeper.direction == "maximize"
    assert cfg.optimized_metric == "val/acc_best"
    for key in cfg.hydra.sweeper.params:
        assert OmegaConf.select(cfg, key, default="<absent>") != "<absent>", key


def test_launchers_compose(make_cfg) -> None:
    for launcher, target in (("joblib", "JoblibLauncher"), ("slurm", "SlurmLauncher")):
        cfg = make_cfg(f"launcher={launcher}")
        assert target in cfg.hydra.launcher._target_
