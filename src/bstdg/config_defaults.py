"""The code defaults of the network presets as a Hydra config, ``model/net/defaults``.

Every ``conf/model/net/*.yaml`` starts from this node and lists only what differs from it: the
defaults of :class:`~bstdg.snn.SpikingNet` and, under ``rule``, the fields of
:class:`~bstdg.snn.rules.GradientRule`, read from the code. The composed config still holds
every key, so any of them can be overridden (``model.net.rule.kernel=exp``) and is logged.
``bstdg.train`` registers it in Hydra's ConfigStore when it is imported, before any config is
composed.
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

from hydra.core.config_store import ConfigStore

from bstdg.snn import SpikingNet
from bstdg.snn.rules import GradientRule

GROUP, NAME = "model/net", "defaults"
# SpikingNet's arguments that come from the run (data sizes, the encoder's window), not from
# the config.
FROM_THE_RUN = ("self", "n_inputs", "n_classes", "T")


def _plain(value: Any) -> Any:
    """Tuples as lists, recursively (OmegaConf stores lists)."""
    return [_plain(v) for v in value] if isinstance(value, (tuple, list)) else value


def net_defaults() -> dict[str, Any]:
    """``_target_``, ``_partial_`` and every keyword default of SpikingNet, with GradientRule's
    field defaults as ``rule``."""
    params = inspect.signature(SpikingNet.__init__).parameters
    node: dict[str, Any] = {"_target_": f"bstdg.snn.{SpikingNet.__name__}", "_partial_": True}
    for name, param in params.items():
        if name not in FROM_THE_RUN:
            node[name] = _plain(param.default)
    node["rule"] = {f.name: f.default for f in dataclasses.fields(GradientRule)}
    return node


def register_net_defaults() -> None:
    """Store :func:`net_defaults` in Hydra's ConfigStore as ``model/net/defaults``."""
    ConfigStore.instance().store(group=GROUP, name=NAME, node=net_defaults())
