"""Rebuild a trained run from its checkpoint: the run config it carries, the model of that
config (:func:`instantiate_model`) and :func:`load_run` (model, encoder and config of a run
folder or a lone ``.ckpt``)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, NamedTuple

from omegaconf import DictConfig

from bstdg.utils.checkpoint import (
    BUILT_KEYS,
    CheckpointError,
    pick_checkpoint,
    read_checkpoint,
    run_config_of,
    stored_run_config,
)
from bstdg.utils.instantiate import check_targets


def config_for_checkpoint(ckpt: Path, checkpoint: Mapping[str, Any]) -> tuple[DictConfig, str]:
    """(run config, where it came from) of a checkpoint: the one stored in its
    hyperparameters. Every ``_target_`` in it is checked; a checkpoint of an earlier bstdg
    gets the message that converts it."""
    cfg = stored_run_config(checkpoint, ckpt)
    source = f"checkpoint {ckpt}"
    for key in BUILT_KEYS:
        if key in cfg:
            check_targets(cfg[key], source, key)
    return cfg, source


class LoadedRun(NamedTuple):
    """What :func:`load_run` returns."""

    model: Any  # bstdg.lit.module.SpikingClassifier, in eval mode
    encoder: Any  # the model's encoder: raw batch -> spike times
    config: DictConfig  # the run config (data, encoder, model, loss, seed, run_name, tags)
    ckpt_path: Path


def instantiate_model(cfg: DictConfig, n_inputs: int, n_classes: int, **parts: Any) -> Any:
    """Instantiate ``cfg.model`` for the given sizes, with ``parts`` (``encoder``, ``loss``)
    and ``run_config`` = ``cfg``'s (plain values, passed past Hydra so that its ``_target_``
    entries are stored, not instantiated), so that a checkpoint carries its settings."""
    import hydra

    factory = hydra.utils.instantiate(
        cfg.model, _partial_=True, n_inputs=int(n_inputs), n_classes=int(n_classes), **parts
    )
    return factory(run_config=run_config_of(cfg))


def build_model(cfg: DictConfig, n_inputs: int, n_classes: int) -> Any:
    """The run's model (``cfg.model`` with its encoder and loss) for the given sizes."""
    import hydra

    for key in ("encoder", "model", "loss"):
        if key not in cfg:
            raise CheckpointError(f"the run config has no '{key}' section")
    return instantiate_model(
        cfg, n_inputs, n_classes,
        encoder=hydra.utils.instantiate(cfg.encoder), loss=hydra.utils.instantiate(cfg.loss),
    )


def load_run(path: str | Path) -> LoadedRun:
    """Model, encoder and config of a trained run, for notebooks.

    ``path`` is a run folder (its best checkpoint, else ``checkpoints/last.ckpt``) or a
    ``.ckpt`` file; a checkpoint carries its own settings. The
    checkpoint is read with ``weights_only=True``, only the classes allowed at each key are
    instantiated (``bstdg.utils.instantiate.ALLOWED_CLASSES``) and non-finite network weights
    or thresholds are refused. The model is on the CPU, in eval mode::

        model, encoder, cfg, _ = bstdg.load_run("logs/train/runs/<run>")
        pred = model.predict_step(x, 0)   # x: raw uint8 batch (B, n_inputs)
    """
    path = Path(path)
    ckpt = pick_checkpoint(path) if path.is_dir() else path
    checkpoint = read_checkpoint(ckpt)
    hparams = checkpoint.get("hyper_parameters") or {}
    cfg, source = config_for_checkpoint(ckpt, checkpoint)
    if "n_inputs" not in hparams or "n_classes" not in hparams:
        raise CheckpointError(
            f"checkpoint {ckpt} has no n_inputs/n_classes hyperparameters; it was not written "
            f"by bstdg-train"
        )
    model = build_model(cfg, hparams["n_inputs"], hparams["n_classes"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise CheckpointError(
            f"checkpoint {ckpt} does not fit the model described by {source} ({first})"
        ) from exc
    model.eval()
    return LoadedRun(model, model.encoder, cfg, ckpt)
