"""Network + loss settings that reproduce each rule as method.md describes it.

Each preset is a plain mapping of :class:`~bstdg.snn.layers.SpikingNet` keyword arguments
(``net``) and relative-target loss arguments (``loss``); the Hydra configs
``conf/model/net/<name>.yaml`` carry the same values (a test keeps them in step).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

POSITIVE_INIT = [[0.0, 5.0], [0.0, 48.0]]  # S4NN/BS4NN/SSTDP: U[0,5] hidden, U[0,48] output


def _rule(kernel: str, inclusive: bool = False, tau_fraction: float = 0.125) -> dict[str, Any]:
    return {"kernel": kernel, "tau": None, "tau_fraction": tau_fraction, "A": 1.0, "B": 0.0,
            "normalize": True, "backprop_weights": "latent", "causal_inclusive": inclusive}


def _preset(net: dict[str, Any], gamma: float, variant: str) -> MappingProxyType:
    return MappingProxyType({"net": {"threshold_min": 1.0, "delay": 1, **net},
                             "loss": {"gamma": gamma, "variant": variant}})


S4NN = _preset({"binary": False, "threshold_mode": "fixed", "threshold_init": [100.0, 100.0],
                "init_range": POSITIVE_INIT, "rule": _rule("const")}, 3.0, "s4nn")
BS4NN = _preset({"binary": True, "threshold_mode": "per_layer", "threshold_init": [20.0, 20.0],
                 "init_range": POSITIVE_INIT, "rule": _rule("const")}, 1.0, "bs4nn")
SSTDP = _preset({"binary": False, "threshold_mode": "fixed", "threshold_init": [100.0, 100.0],
                 "delay": 0, "init_range": POSITIVE_INIT, "rule": _rule("const", inclusive=True)},
                5.0, "sstdp")
BSTDG = _preset({"binary": True, "threshold_mode": "per_neuron", "threshold_init": [10.0, 5.0],
                 "init_range": [[-2.5, 2.5], [-24.0, 24.0]],
                 "rule": _rule("exp", tau_fraction=0.5)}, 3.0, "s4nn")

PRESETS: MappingProxyType[str, Any] = MappingProxyType(
    {"s4nn": S4NN, "bs4nn": BS4NN, "sstdp": SSTDP, "bstdg": BSTDG}
)


def preset(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of a preset's ``net`` and ``loss`` settings."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    src = PRESETS[name]
    return {"net": {**src["net"], "rule": dict(src["net"]["rule"])}, "loss": dict(src["loss"])}
