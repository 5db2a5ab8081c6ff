"""The Hydra model/net configs carry exactly the values of bstdg.snn.presets."""

from __future__ import annotations

import pytest
from omegaconf import OmegaConf

from bstdg.snn.presets import PRESETS


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_yaml_preset_matches_python_preset(make_cfg, name: str) -> None:
    cfg = make_cfg(f"model={name}")
    net = OmegaConf.to_container(cfg.model.net, resolve=True)
    for key, value in PRESETS[name]["net"].items():
        if key == "rule":
            assert {k: net["rule"][k] for k in value} == value
        else:
            assert net[key] == value, key
