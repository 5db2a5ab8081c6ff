"""Fixtures shared by the baseline-step tests of the core."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import DictConfig

from bstdg.train import CONFIG_DIR  # importing bstdg.train registers the code defaults


@pytest.fixture
def compose_cfg() -> Iterator:
    """compose_cfg(*overrides): train.yaml composed with the overrides, no Hydra run."""

    def _compose(*overrides: str) -> DictConfig:
        GlobalHydra.instance().clear()
        with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
            return compose(config_name="train.yaml", overrides=list(overrides))

    yield _compose
    GlobalHydra.instance().clear()
