"""bstdg-train: fit a spiking classifier, then test the best checkpoint.

bstdg-train experiment=mnist_bstdg trainer.max_epochs=5 logger=csv
bstdg-train -m experiment=mnist_bstdg encoder.T=16,64,256
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig

from bstdg.utils.instantiate import instantiate_callbacks, instantiate_loggers
from bstdg.utils.run_info import run_metadata
from bstdg.utils.task import log_hyperparameters, print_summary, run_task

CONFIG_DIR = str(Path(__file__).resolve().parents[2] / "conf")


def build(cfg: DictConfig) -> tuple[pl.LightningDataModule, pl.LightningModule]:
    """Seed, then build the DataModule and the model (net sizes from data, T from encoder)."""
    if cfg.get("seed") is not None:
        pl.seed_everything(int(cfg.seed), workers=True)
    datamodule = hydra.utils.instantiate(cfg.data)
    model = hydra.utils.instantiate(
        cfg.model,
        encoder=hydra.utils.instantiate(cfg.encoder),
        loss=hydra.utils.instantiate(cfg.loss),
        n_inputs=datamodule.n_inputs,
        n_classes=datamodule.n_classes,
    )
    return datamodule, model


def build_trainer(cfg: DictConfig) -> pl.Trainer:
    loggers = instantiate_loggers(cfg.get("logger"))
    trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=instantiate_callbacks(cfg.get("callbacks")), logger=loggers or False
    )
    log_hyperparameters(loggers, cfg, run_metadata())
    return trainer


def train(
    cfg: DictConfig, objects: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit (resuming from ``cfg.ckpt_path`` if set), then test the best checkpoint.

    Returns (metrics, objects); ``objects`` (if given) is filled as things are built.
    """
    objects = {} if objects is None else objects
    datamodule, model = build(cfg)
    objects.update(model=model, datamodule=datamodule)
    objects["trainer"] = trainer = build_trainer(cfg)
    metrics: dict[str, Any] = {}
    if cfg.get("train", True):
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"))
        metrics.update(trainer.callback_metrics)
    if cfg.get("test", True):
        checkpoint = trainer.checkpoint_callback
        best = checkpoint.best_model_path if checkpoint is not None else ""
        if cfg.get("train", True) and best:
            objects["best_ckpt_path"] = best
        if checkpoint is not None and checkpoint.last_model_path:
            objects["last_ckpt_path"] = checkpoint.last_model_path
        trainer.test(
            model,
            datamodule=datamodule,
            ckpt_path=best or (None if cfg.get("train", True) else cfg.get("ckpt_path")),
        )
        metrics.update(trainer.callback_metrics)
    return metrics, objects


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train.yaml")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the optimized metric for sweepers."""
    metrics = run_task(train, cfg)
    print_summary(cfg, metrics)
    name = cfg.get("optimized_metric")
    if name and name in metrics:
        return float(metrics[name])
    return None


if __name__ == "__main__":
    main()
