"""The network settings of each `conf/model/<name>.yaml`, composed from the YAML (the one
source of truth), as keyword arguments for `bstdg.snn.SpikingNet`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from bstdg.train import CONFIG_DIR

MODELS = sorted(p.stem for p in (Path(CONFIG_DIR) / "model").glob("*.yaml"))


def net_kwargs(model: str) -> dict[str, Any]:
    """``model.net`` of ``model=<model>`` resolved (``backprop_lookahead`` follows the
    optimiser's lr), without ``_target_``, ``_partial_`` and ``hidden``."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="train.yaml", overrides=[f"model={model}"])
    GlobalHydra.instance().clear()
    net = OmegaConf.to_container(cfg.model.net, resolve=True)
    assert isinstance(net, dict)
    for key in ("_target_", "_partial_", "hidden"):
        net.pop(key, None)
    return net
