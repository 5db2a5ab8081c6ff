"""Network + loss settings that reproduce each rule as method.md describes it.

Each preset is a plain mapping of :class:`~bstdg.snn.layers.SpikingNet` keyword arguments
(``net``) and relative-target loss arguments (``loss``); the Hydra configs
``conf/model/net/<name>.yaml`` carry the same values (a test keeps them in step).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

S4NN = MappingProxyType(
    {
        "net": {
            "binary": False,
            "threshold_mode": "fixed",
            "threshold_init": [100.0, 100.0],
            "delay": 1,
            "init_range": [[0.0, 5.0], [0.0, 48.0]],
            "rule": {
                "kernel": "const",
                "A": 1.0,
                "normalize": True,
                "backprop_weights": "latent",
                "causal_inclusive": False,
            },
        },
        "loss": {"gamma": 3.0, "variant": "s4nn"},
    }
)

BS4NN = MappingProxyType(
    {
        "net": {
            "binary": True,
            "threshold_mode": "per_layer",
            "threshold_init": [20.0, 20.0],
            "delay": 1,
            "init_range": [[0.0, 5.0], [0.0, 48.0]],
            "rule": {
                "kernel": "const",
                "A": 1.0,
                "normalize": True,
                "backprop_weights": "latent",
                "causal_inclusive": False,
            },
        },
        "loss": {"gamma": 1.0, "variant": "bs4nn"},
    }
)

SSTDP = MappingProxyType(
    {
        "net": {
            "binary": False,
            "threshold_mode": "fixed",
            "threshold_init": [100.0, 100.0],
            "delay": 0,
            "init_range": [[0.0, 5.0], [0.0, 48.0]],
            "rule": {
                "kernel": "const",
                "A": 1.0,
                "B": 0.0,
                "normalize": True,
                "backprop_weights": "latent",
                "causal_inclusive": True,
            },
        },
        "loss": {"gamma": 5.0, "variant": "sstdp"},
    }
)

BSTDG = MappingProxyType(
    {
        "net": {
            "binary": True,
            "threshold_mode": "per_neuron",
            "threshold_init": [10.0, 5.0],
            "threshold_min": 1.0,
            "delay": 1,
            "init_range": [[-2.5, 2.5], [-24.0, 24.0]],
            "rule": {
                "kernel": "exp",
                "tau": None,
                "A": 1.0,
                "B": 0.0,
                "normalize": True,
                "backprop_weights": "latent",
                "causal_inclusive": False,
            },
        },
        "loss": {"gamma": 3.0, "variant": "s4nn"},
    }
)

PRESETS: MappingProxyType[str, Any] = MappingProxyType(
    {"s4nn": S4NN, "bs4nn": BS4NN, "sstdp": SSTDP, "bstdg": BSTDG}
)


def preset(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of a preset's ``net`` and ``loss`` settings."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    src = PRESETS[name]
    return {"net": {**src["net"], "rule": dict(src["net"]["rule"])}, "loss": dict(src["loss"])}
