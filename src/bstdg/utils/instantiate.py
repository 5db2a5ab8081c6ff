"""Instantiate callbacks and loggers from config groups (LHT style)."""

from __future__ import annotations

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig
from pytorch_lightning.loggers import Logger


def _targets(cfg: DictConfig | None, kind: str) -> list:
    if not cfg:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"the {kind} config must be a mapping of name -> {{_target_: ...}}")
    return [
        hydra.utils.instantiate(c)
        for c in cfg.values()
        if isinstance(c, DictConfig) and "_target_" in c
    ]


def instantiate_callbacks(cfg: DictConfig | None) -> list[pl.Callback]:
    return _targets(cfg, "callbacks")


def instantiate_loggers(cfg: DictConfig | None) -> list[Logger]:
    return _targets(cfg, "logger")
