"""One LayerSpec down the core: validated when built, shared by the layers of a net, and
given to a layer either whole or as its loose values."""

from __future__ import annotations

import numpy as np
import pytest

from bstdg.snn import GradientRule, SpikingLinear, SpikingNet
from bstdg.snn.spec import LayerSpec


@pytest.mark.parametrize("kwargs, match", [
    ({"T": 1}, r"T must be an integer >= 2 time steps, got 1"),
    ({"T": 8.0}, r"T must be an integer >= 2 time steps, got 8.0"),
    ({"T": 8, "window_trim": 7}, r"window_trim must be in \[0, T - 2\] = \[0, 6\]"),
    ({"T": 8, "window_trim": 1.5}, r"window_trim must be in \[0, T - 2\]"),
    ({"T": 8, "delay": -1}, r"delay must be >= 0 time steps"),
    ({"T": 8, "delay": 8}, r"delay must be an integer in \[0, T - 1\] = \[0, 7\]"),
    ({"T": 8, "delay": 6, "window_trim": 2}, r"\[0, T - 1 - window_trim\] = \[0, 5\]"),
    ({"T": 8, "binary": 1}, r"binary must be true .* got 1"),
    ({"T": 8, "rule": {"kernel": "const"}}, r"rule must be a GradientRule, got dict"),
])
def test_a_spec_refuses_what_no_layer_can_run(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        LayerSpec(**kwargs)


def test_a_spec_holds_plain_integers_and_its_last_step() -> None:
    spec = LayerSpec(np.int64(16), np.int64(0), window_trim=np.int64(2))
    assert (type(spec.T), type(spec.delay), type(spec.window_trim)) == (int, int, int)
    assert spec == LayerSpec(16, 0, window_trim=2) and spec.last_step == 13


def test_a_net_hands_its_one_spec_to_every_layer() -> None:
    rule = GradientRule(kernel="const")
    net = SpikingNet(6, 3, T=16, hidden=[5, 4], delay=0, binary=False, rule=rule,
                     window_trim=2, threshold_init=1.0, init_range=[-1.0, 1.0])
    assert net.T == 16
    assert all(layer.spec is net.layers[0].spec for layer in net.layers)
    assert net.layers[0].spec == LayerSpec(16, 0, False, rule, 2)
    weights, thresholds, specs = net.by_layer()
    assert [tuple(w.shape) for w in weights] == [(5, 6), (4, 5), (3, 4)]
    assert thresholds[1] is net.layers[1].threshold and specs[2] is net.layers[2].spec


def test_a_layer_takes_its_spec_or_its_loose_values_not_both() -> None:
    spec = LayerSpec(8, delay=2, binary=False)
    assert SpikingLinear(4, 2, spec=spec).spec is spec
    assert SpikingLinear(4, 2, 8, binary=False, delay=2).spec == spec
    assert SpikingLinear(4, 2, T=8).spec == LayerSpec(8)
    with pytest.raises(ValueError, match="give the layer's spec or T, delay, not both"):
        SpikingLinear(4, 2, T=8, delay=2, spec=spec)
    with pytest.raises(ValueError, match="a layer needs its spec, or T"):
        SpikingLinear(4, 2)
