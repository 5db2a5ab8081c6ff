"""Fixtures composing Hydra configs into tmp_path."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from helpers.hydra_compose import FAST, compose_cfg


@pytest.fixture
def make_cfg(tmp_path: Path) -> Iterator[Callable[..., DictConfig]]:
    """make_cfg(*overrides, config="train.yaml", out=None) -> composed config."""

    def _make(*overrides: str, config: str = "train.yaml", out: Path | None = None) -> DictConfig:
        base = FAST if config == "train.yaml" else ["trainer.enable_progress_bar=false",
                                                    "extras.print_config=false"]
        if any(o.startswith("callbacks=") for o in overrides):
            base = [o for o in base if not o.startswith("callbacks.")]
        return compose_cfg(config, [*base, *overrides], out or tmp_path)

    yield _make
    GlobalHydra.instance().clear()

