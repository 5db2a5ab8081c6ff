"""bstdg-train: fit a spiking classifier, then test the best checkpoint.

bstdg-train experiment=mnist_bstdg trainer.max_epochs=5 logger=csv
bstdg-train -m experiment=mnist_bstdg encoder.T=16,64,256
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig

from bstdg.config_defaults import register_net_defaults
from bstdg.data.config import check_optional_packages, check_size_keys
from bstdg.data.errors import InvalidDataConfigError
from bstdg.loading import instantiate_model
from bstdg.tracking.logged_config import wandb_config
from bstdg.tracking.naming import identity
from bstdg.utils.auto_resume import resolve_auto_resume
from bstdg.utils.checkpoint import weights_only_kwargs
from bstdg.utils.checks import ConfigError, check_run_config
from bstdg.utils.instantiate import instantiate_callbacks, instantiate_loggers
from bstdg.utils.run_config import hydra_job_entries
from bstdg.utils.run_info import run_metadata
from bstdg.utils.task import (
    CONFIG_DIR,
    config_errors_exit,
    log_hyperparameters,
    run_entry_point,
)

# the net presets (conf/model/net/*.yaml) start from the code defaults: registered before any
# config of CONFIG_DIR is composed (here, by eval, by the tests)
register_net_defaults()


def build(cfg: DictConfig) -> tuple[pl.LightningDataModule, pl.LightningModule]:
    """Check the config, seed, then build the DataModule and the model (net sizes from data,
    T from encoder; the run config goes into the checkpoint's hyperparameters)."""
    check_run_config(cfg)
    try:
        check_size_keys(cfg.data)  # sizes come from the DataModule, not the config
        check_optional_packages(cfg.data)
    except InvalidDataConfigError as err:
        raise ConfigError(str(err)) from None
    if cfg.get("seed") is not None:
        pl.seed_everything(int(cfg.seed), workers=True)
    datamodule = hydra.utils.instantiate(cfg.data)
    model = instantiate_model(
        cfg,
        datamodule.n_inputs,
        datamodule.n_classes,
        encoder=hydra.utils.instantiate(cfg.encoder),
        loss=hydra.utils.instantiate(cfg.loss),
    )
    return datamodule, model


def log_run_config(loggers: list, cfg: DictConfig, model: Any = None,
                   job: Mapping[str, Any] | None = None,
                   extra: Mapping[str, Any] | None = None) -> None:
    """A W&B logger gets the run's hyperparameters, derived columns and Hydra job
    (:func:`bstdg.tracking.logged_config.wandb_config`); the others the resolved config."""
    from pytorch_lightning.loggers import WandbLogger

    meta = run_metadata()
    wandb = [lg for lg in loggers if isinstance(lg, WandbLogger)]
    log_hyperparameters([lg for lg in loggers if lg not in wandb], cfg, meta)
    for logger in wandb:
        logger.log_hyperparams(wandb_config(cfg, model, job, meta, extra))


def build_trainer(cfg: DictConfig, model: Any = None,
                  wandb_defaults: Mapping[str, Any] | None = None,
                  wandb_extra: Mapping[str, Any] | None = None) -> pl.Trainer:
    """The Trainer with the config's callbacks and loggers; a W&B run is named and grouped
    by :func:`bstdg.tracking.naming.identity` unless ``wandb_defaults`` (or the logger
    config) says otherwise, and carries ``wandb_extra`` in its config."""
    job = hydra_job_entries()
    if wandb_defaults is None:
        wandb_defaults = identity(str(cfg.get("run_name") or "default"), job)
    loggers = instantiate_loggers(cfg.get("logger"), wandb_defaults)
    trainer = hydra.utils.instantiate(
        cfg.trainer, callbacks=instantiate_callbacks(cfg.get("callbacks")), logger=loggers or False
    )
    log_run_config(loggers, cfg, model, job, wandb_extra)
    return trainer


# The metrics.json key that marks training metrics carried over from the run a resumed run
# continues (its value: that run's metrics.json).
RESUMED_FROM_KEY = "resumed_train_metrics_from"
FIT_PREFIXES = ("train/", "val/")


def resumed_train_metrics(ckpt_path: str | Path, logged: Mapping[str, Any]) -> dict[str, Any]:
    """The training metrics of the run a resumed fit continues, when the fit logged none.

    A run resumed from a checkpoint taken at the end of training (``last.ckpt`` after the
    last epoch) trains no further epoch, so it logs no ``train/*`` (or ``val/*``) metric. Its
    metrics.json then keeps those of the run it continues: read from that run's folder
    (``RUN/metrics.json`` beside ``RUN/checkpoints/<ckpt>``) when it recorded this very
    checkpoint as its ``last_ckpt_path``, and marked with ``resumed_train_metrics_from``
    (the path of that metrics.json). Metrics the fit did log are never replaced; {} when
    there is nothing to carry over.
    """
    import json

    if any(str(key).startswith("train/") for key in logged):
        return {}
    ckpt = Path(str(ckpt_path))
    if ckpt.parent.name != "checkpoints":
        return {}
    source = ckpt.parent.parent / "metrics.json"
    try:
        record = json.loads(source.read_text())
    except (OSError, ValueError):
        return {}
    if not isinstance(record, dict) or Path(str(record.get("last_ckpt_path") or "")).name \
            != ckpt.name:
        return {}
    carried = {key: value for key, value in record.items()
               if key.startswith(FIT_PREFIXES) and key not in logged
               and isinstance(value, (int, float)) and not isinstance(value, bool)}
    if not any(key.startswith("train/") for key in carried):
        return {}
    return {**carried, RESUMED_FROM_KEY: str(source)}


def train(
    cfg: DictConfig, objects: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Fit (resuming from ``cfg.ckpt_path`` if set), then test the best checkpoint.

    Checkpoints are read with ``weights_only=True``. Returns (metrics, objects);
    ``objects`` (if given) is filled as things are built. A resumed fit that trained no
    further keeps the training metrics of the run it continues
    (:func:`resumed_train_metrics`, marked ``resumed_train_metrics_from``).
    """
    objects = {} if objects is None else objects
    datamodule, model = build(cfg)
    objects.update(model=model, datamodule=datamodule)
    objects["trainer"] = trainer = build_trainer(cfg, model)
    metrics: dict[str, Any] = {}
    if cfg.get("train", True):
        trainer.fit(model, datamodule=datamodule, ckpt_path=cfg.get("ckpt_path"),
                    **weights_only_kwargs(trainer.fit))
        metrics.update(trainer.callback_metrics)
        if cfg.get("ckpt_path"):
            metrics.update(resumed_train_metrics(cfg.ckpt_path, metrics))
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
            **weights_only_kwargs(trainer.test),
        )
        metrics.update(trainer.callback_metrics)
    return metrics, objects


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="train.yaml")
def main(cfg: DictConfig) -> float | None:
    """Hydra entry point; returns the optimized metric for sweepers. With
    ``ckpt_path=auto`` a finished run is skipped and an interrupted one resumed
    (:mod:`bstdg.utils.auto_resume`)."""
    with config_errors_exit("bstdg-train"):
        done = resolve_auto_resume(cfg)
    metrics = done if done is not None else run_entry_point("bstdg-train", train, cfg)
    name = cfg.get("optimized_metric")
    if name and name in metrics:
        return float(metrics[name])
    return None


if __name__ == "__main__":
    main()
