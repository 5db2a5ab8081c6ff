"""Instantiate callbacks and loggers from config groups (LHT style), and guard what a saved
run config may instantiate."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig, ListConfig
from omegaconf.errors import OmegaConfBaseException
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities import rank_zero_warn

from bstdg.utils.checks import ConfigError

# What a config that comes from a run folder or a checkpoint may instantiate: the project's
# own classes, the optimiser and scheduler classes, and Lightning's classes. Only classes:
# a function or method (``torch.load``, ``...load_from_checkpoint``) is never called.
ALLOWED_TARGET_PREFIXES = ("bstdg.", "torch.optim.", "pytorch_lightning.")


class UnsafeTargetError(ConfigError):
    """A saved config names a ``_target_`` outside :data:`ALLOWED_TARGET_PREFIXES`."""


def _allowed(target: str) -> str | None:
    """Why ``target`` may not be instantiated, or None when it may."""
    if not target.startswith(ALLOWED_TARGET_PREFIXES):
        return "it is not one of the project's classes"
    try:
        obj = hydra.utils.get_object(target)
    except Exception as exc:  # ImportError, AttributeError, ...
        first = (str(exc).splitlines() or [""])[0]
        return f"it cannot be imported ({type(exc).__name__}: {first})"
    if not isinstance(obj, type):
        return "it is not a class (functions and methods are never called from a saved config)"
    return None


def _walk_targets(node: Any, key: str) -> list[tuple[str, Any]]:
    """(dotted key, value) of every ``_target_`` under ``node`` (interpolations resolved)."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, (DictConfig, Mapping)):
        keys = list(node.keys())
        for name in keys:
            sub_key = f"{key}.{name}" if key else str(name)
            try:
                value = node[name]
            except OmegaConfBaseException as exc:
                if name == "_target_":
                    found.append((sub_key, f"<unresolvable: {exc}>"))
                continue
            if name == "_target_":
                found.append((sub_key, value))
            else:
                found += _walk_targets(value, sub_key)
    elif isinstance(node, (ListConfig, list, tuple)):
        for i in range(len(node)):
            try:
                value = node[i]
            except OmegaConfBaseException:
                continue
            found += _walk_targets(value, f"{key}[{i}]")
    return found


def check_targets(node: Any, source: str, key: str = "") -> None:
    """Refuse ``node`` (a config or plain container read from ``source``) if any of its
    ``_target_`` entries is not an allowed class; the error names the key and the target."""
    for target_key, target in _walk_targets(node, key):
        why = (
            "it is not a string" if not isinstance(target, str) else _allowed(target)
        )
        if why is not None:
            raise UnsafeTargetError(
                f"{source}: {target_key}={target!r} is refused: {why}. A saved run config may "
                f"only instantiate classes under {', '.join(ALLOWED_TARGET_PREFIXES)} "
                f"(the project's own, the torch.optim optimisers and schedulers, Lightning's). "
                f"Remove or fix that entry, or evaluate a run folder you trust."
            )


def _is_lightning_wandb(cfg: DictConfig) -> bool:
    """Whether a logger config builds Lightning's own W&B logger."""
    target = str(cfg.get("_target_", ""))
    return target.split(".")[-1] == "WandbLogger" and target.startswith("pytorch_lightning.")


def _is_wandb(cfg: DictConfig) -> bool:
    """Whether a logger config builds Lightning's W&B logger or a subclass of it."""
    if _is_lightning_wandb(cfg):
        return True
    try:
        cls = hydra.utils.get_class(str(cfg.get("_target_", "")))
    except Exception:  # not a class: instantiation reports it
        return False
    from pytorch_lightning.loggers import WandbLogger

    return isinstance(cls, type) and issubclass(cls, WandbLogger)


def _logger_kwargs(cfg: DictConfig, wandb_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides for one logger. A W&B logger gets ``wandb_defaults`` (``name``, ``group``)
    for the keys its config leaves null. Lightning's own W&B logger cannot upload
    checkpoints offline, so its ``log_model`` is dropped there (with a warning) instead of
    failing the run; the project's logger (``bstdg.tracking.logger.WandbLogger``) logs them
    as offline artifacts."""
    if not _is_wandb(cfg):
        return {}
    kwargs = {k: v for k, v in wandb_defaults.items() if cfg.get(k) is None}
    if _is_lightning_wandb(cfg) and cfg.get("offline", False) and cfg.get("log_model", False):
        rank_zero_warn(
            "logger.wandb.log_model is ignored in offline mode by "
            "pytorch_lightning's WandbLogger (it uploads no checkpoint offline); the "
            "checkpoints stay in the run's checkpoints/ folder. The default logger "
            "(bstdg.tracking.logger.WandbLogger) logs them as offline artifacts."
        )
        kwargs["log_model"] = False
    return kwargs


def _targets(cfg: DictConfig | None, kind: str,
             wandb_defaults: Mapping[str, Any] | None = None) -> list:
    if not cfg:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"the {kind} config must be a mapping of name -> {{_target_: ...}}")
    return [
        hydra.utils.instantiate(
            c, **(_logger_kwargs(c, wandb_defaults or {}) if kind == "logger" else {}))
        for c in cfg.values()
        if isinstance(c, DictConfig) and "_target_" in c
    ]


def instantiate_callbacks(cfg: DictConfig | None) -> list[pl.Callback]:
    return _targets(cfg, "callbacks")


def instantiate_loggers(cfg: DictConfig | None,
                        wandb_defaults: Mapping[str, Any] | None = None) -> list[Logger]:
    """The loggers of ``cfg``; a W&B logger's null ``name`` / ``group`` come from
    ``wandb_defaults`` (see :func:`bstdg.tracking.naming.identity`)."""
    return _targets(cfg, "logger", wandb_defaults)
