"""The config a W&B run carries: the user's hyperparameters (no ``_target_``, no paths, no
trainer internals), columns derived from the built model, and the Hydra job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from omegaconf import DictConfig

from bstdg.utils.run_config import hyperparameter_tree, is_path_override

SECTIONS = ("data", "encoder", "model", "loss")
TOP_KEYS = ("run_name", "task_name", "seed", "tags")
# DataLoader plumbing: changes speed, not results.
DATA_INTERNALS = {"num_workers", "pin_memory", "persistent_workers"}
# Trainer settings that change what a run computes.
TRAINER_KEYS = ("max_epochs", "min_epochs", "max_steps", "accumulate_grad_batches",
                "gradient_clip_val", "precision", "accelerator", "devices", "num_nodes",
                "strategy", "limit_train_batches", "limit_val_batches", "limit_test_batches",
                "overfit_batches", "check_val_every_n_epoch", "deterministic")


def _safe_overrides(overrides: Sequence[str]) -> list[str]:
    """Overrides without the ones that set a path."""
    return [str(item) for item in overrides if not is_path_override(str(item))]


def derived_columns(model: Any) -> dict[str, Any]:
    """``T``, parameter count, model bits, widest hidden layer, hidden layer count, input
    size and class count of a built :class:`~bstdg.lit.module.SpikingClassifier` ({} for
    anything else)."""
    net = getattr(model, "net", None)
    layers = list(getattr(net, "layers", []) or [])
    if not layers:
        return {}
    from bstdg.utils.model_size import model_size

    hidden = [int(layer.out_features) for layer in layers[:-1]]
    size = model_size(model)
    hparams = getattr(model, "hparams", {}) or {}
    return {
        "T": int(model.T),
        "n_params": size["n_params"],
        "model_bits": size["model_bits"],
        "hidden_width": max(hidden, default=0),
        "n_hidden_layers": len(hidden),
        "n_inputs": int(hparams.get("n_inputs", layers[0].in_features)),
        "n_classes": int(hparams.get("n_classes", layers[-1].out_features)),
    }


def wandb_config(cfg: DictConfig, model: Any = None, job: Mapping[str, Any] | None = None,
                 env: Mapping[str, Any] | None = None,
                 extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The run's W&B config: ``run_name``, ``task_name``, ``seed``, ``tags``, the
    ``data``/``encoder``/``model``/``loss`` sections and the result-changing ``trainer`` keys
    (instantiation keys, paths and loader plumbing left out), ``derived`` (see
    :func:`derived_columns`), ``hydra`` (``multirun_stamp``, ``job_num``, ``overrides``,
    ``choices``: from ``job``, as ``hydra_job_entries`` gives it), ``env`` (versions, device)
    and any ``extra`` nodes."""
    config: dict[str, Any] = {k: hyperparameter_tree(cfg[k]) for k in TOP_KEYS if k in cfg}
    for section in SECTIONS:
        if section in cfg:
            tree = hyperparameter_tree(cfg[section])
            if section == "data" and isinstance(tree, dict):
                tree = {k: v for k, v in tree.items() if k not in DATA_INTERNALS}
            config[section] = tree
    trainer = cfg.get("trainer") or {}
    config["trainer"] = {k: hyperparameter_tree(trainer[k]) for k in TRAINER_KEYS
                         if trainer.get(k) is not None}
    derived = derived_columns(model) if model is not None else {}
    if derived:
        config["derived"] = derived
    job = dict(job or {})
    hydra = {k: job[k] for k in ("multirun_stamp", "job_num") if job.get(k) is not None}
    hydra["overrides"] = _safe_overrides(job.get("overrides") or [])
    hydra["choices"] = {k.removeprefix("choice/"): v for k, v in job.items()
                        if k.startswith("choice/")}
    config["hydra"] = hydra
    if env:
        config["env"] = dict(env)
    config.update(extra or {})
    return config
