"""bstdg-eval: test a checkpoint with the same metrics as training's test stage.

bstdg-eval ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from bstdg.train import CONFIG_DIR, build, build_trainer
from bstdg.utils.task import print_summary, run_task

RUN_KEYS = ("data", "encoder", "model", "loss", "seed", "run_name", "tags")


def _task_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def with_run_config(cfg: DictConfig, ckpt: Path, overrides: list[str]) -> DictConfig:
    """Take data/encoder/model/loss from the training run that wrote ``ckpt``.

    The run config is ``<run dir>/.hydra/config.yaml`` with ``ckpt`` in
    ``<run dir>/checkpoints/``; command-line overrides of those keys still win.
    """
    run_cfg_path = ckpt.resolve().parent.parent / ".hydra" / "config.yaml"
    if not run_cfg_path.is_file():
        return cfg
    run_cfg = OmegaConf.load(run_cfg_path)
    mine = [o for o in overrides if o.split("=", 1)[0].lstrip("+~").split(".")[0] in RUN_KEYS]
    with open_dict(cfg):
        for key in RUN_KEYS:
            if key in run_cfg:
                cfg[key] = run_cfg[key]
        for item in mine:
            key, _, value = item.lstrip("+").partition("=")
            OmegaConf.update(
                cfg, key, OmegaConf.create({"v": value}).v if value else None, force_add=True
            )
    return cfg


def evaluate(
    cfg: DictConfig, objects: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Test ``cfg.ckpt_path``; returns (metrics, objects)."""
    objects = {} if objects is None else objects
    ckpt = Path(cfg.ckpt_path)
    if not ckpt.is_file():
        raise FileNotFoundError(
            f"checkpoint not found: {ckpt}. Pass ckpt_path=<run dir>/checkpoints/last.ckpt "
            f"(or the best epoch_*.ckpt) of a finished bstdg-train run."
        )
    cfg = with_run_config(cfg, ckpt, _task_overrides())
    datamodule, model = build(cfg)
    objects.update(model=model, datamodule=datamodule, ckpt_path=str(ckpt))
    objects["trainer"] = trainer = build_trainer(cfg)
    trainer.test(model, datamodule=datamodule, ckpt_path=str(ckpt))
    return dict(trainer.callback_metrics), objects


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval.yaml")
def main(cfg: DictConfig) -> None:
    print_summary(cfg, run_task(evaluate, cfg))


if __name__ == "__main__":
    main()
