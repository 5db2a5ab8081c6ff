"""Hydra compose helpers for in-process runs (lightning-hydra-template style)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

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


def trained_run(root: Path) -> dict[str, Any]:
    """A 1-epoch synthetic run in ``root/run`` with its run folder (.hydra/config.yaml,
    checkpoints/): ``run_dir``, ``ckpt`` (its last.ckpt) and ``test_acc``."""
    from omegaconf import OmegaConf

    from bstdg.train import train
    from bstdg.utils.task import without_hydra

    run_dir = root / "run"
    cfg = compose_cfg("train.yaml", [*FAST, *SYNTHETIC, "trainer.max_epochs=1"], run_dir)
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(without_hydra(cfg)))
    metrics, objects = train(cfg)
    GlobalHydra.instance().clear()
    return {"run_dir": run_dir, "ckpt": Path(objects["last_ckpt_path"]),
            "test_acc": float(metrics["test/acc"])}
