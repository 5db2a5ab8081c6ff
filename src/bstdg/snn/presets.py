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


def _released_rule(inclusive: bool, eps: float, lookahead: float) -> dict[str, Any]:
    """The const-kernel rule of a released baseline: ``eps`` 0 is "normalise unless the norm
    is 0" (S4NN/BS4NN), ``lookahead`` the SGD rate when the hidden error is computed after
    the output layer's update (S4NN/BS4NN), 0 when before (SSTDP, torch autograd)."""
    return {**_rule("const", inclusive), "threshold_grad_scale": 1.0,
            "silent_input_grad": False, "eps": eps, "backprop_lookahead": lookahead}


def _preset(
    net: dict[str, Any], gamma: float, variant: str, reduction: str = "half_sum"
) -> MappingProxyType:
    return MappingProxyType({"net": {"threshold_min": 1.0, "delay": 1, **net},
                             "loss": {"gamma": gamma, "variant": variant,
                                      "reduction": reduction}})


# The released codes (README, "Baselines and their differences from the released code"):
# S4NN.py (SGD lr 0.2), BS4NN_mnist.ipynb (SGD lr 0.1, fact rule lrF 0.01), SSTDP's
# sstdp_module.py / sstdp_train.py (simulated to T - 3, delay 0, F.mse_loss).
S4NN = _preset({"binary": False, "threshold_mode": "fixed", "threshold_init": [100.0, 100.0],
                "init_range": POSITIVE_INIT, "window_trim": 0, "fallback_offset": 3,
                "rule": _released_rule(False, 0.0, 0.2)}, 3.0, "s4nn")
BS4NN = _preset({"binary": True, "threshold_mode": "bs4nn_fact", "threshold_init": [20.0, 20.0],
                 "fact_init": 5.0, "fact_lr": 0.01, "init_range": POSITIVE_INIT,
                 "window_trim": 0, "fallback_offset": 3,
                 "rule": _released_rule(False, 0.0, 0.1)}, 1.0, "bs4nn")
SSTDP = _preset({"binary": False, "threshold_mode": "fixed", "threshold_init": [100.0, 100.0],
                 "delay": 0, "init_range": POSITIVE_INIT, "window_trim": 2, "fallback_offset": 3,
                 "rule": _released_rule(True, 1e-10, 0.0)}, 5.0, "sstdp", "mse")
BSTDG = _preset({"binary": True, "threshold_mode": "per_neuron", "threshold_init": [30.0, 15.0],
                 "init_range": [[-1.5, 3.5], [-24.0, 24.0]],
                 "rule": _rule("const", tau_fraction=0.5)}, 5.0, "s4nn")

PRESETS: MappingProxyType[str, Any] = MappingProxyType(
    {"s4nn": S4NN, "bs4nn": BS4NN, "sstdp": SSTDP, "bstdg": BSTDG}
)


def preset(name: str) -> dict[str, Any]:
    """A fresh, mutable copy of a preset's ``net`` and ``loss`` settings."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; valid: {', '.join(PRESETS)}")
    src = PRESETS[name]
    return {"net": {**src["net"], "rule": dict(src["net"]["rule"])}, "loss": dict(src["loss"])}
