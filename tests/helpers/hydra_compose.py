"""Hydra compose helpers for in-process runs (lightning-hydra-template style)."""

from __future__ import annotations

from pathlib import Path

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, open_dict

from bstdg.train import CONFIG_DIR

FAST = ["trainer.enable_progress_bar=false", "extras.print_config=false",
        "++trainer.enable_model_summary=false", "callbacks.model_summary=null",
        "callbacks.inference_timer.max_samples=64", "callbacks.inference_timer.repeats=1"]


def compose_cfg(config: str, overrides: list[str], out: Path) -> DictConfig:
    """Compose ``config`` with ``overrides``, writing everything under ``out``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name=config, return_hydra_config=True, overrides=overrides)
    with open_dict(cfg):
        cfg.paths.output_dir = str(out)
        cfg.paths.log_dir = str(out)
        cfg.hydra.runtime.output_dir = str(out)
    HydraConfig().set_config(cfg)
    return cfg



SYNTHETIC = ["experiment=synthetic_quickstart", "logger=none", "seed=7"]
