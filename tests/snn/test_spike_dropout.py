"""Spike dropout: training mode silences hidden spikes (and their error) or input spikes,
evaluation sees them all."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn import SpikingNet, relative_target_mse


def _net(p: float, p_in: float = 0.0, fused: bool = True) -> SpikingNet:
    torch.manual_seed(0)
    return SpikingNet(20, 3, T=16, hidden=[30], threshold_init=[2.0, 2.0],
                      init_range=[[-1.0, 3.0], [-5.0, 5.0]], hidden_dropout=p,
                      input_dropout=p_in, fused=fused)


def test_training_mode_silences_hidden_spikes_and_their_gradient() -> None:
    """The layer path, whose hidden times carry their dL/dt (``retain_grad``); the fused
    path is held to it in ``test_fused_net.py``."""
    x = torch.randint(0, 17, (8, 20)).float()
    reference = _net(0.0).eval()(x)
    net = _net(0.5, fused=False)
    net.eval()
    assert torch.equal(net(x).times[-1], reference.times[-1])  # evaluation: every spike
    net.train()
    torch.manual_seed(1)
    out = net(x)
    hidden = out.times[0]
    # the statistics see the layer's own spikes, the output layer the surviving ones
    assert torch.equal(hidden, reference.times[0])
    torch.manual_seed(1)
    dropped = (torch.rand(hidden.shape) < 0.5) & (hidden < 16)
    assert dropped.any()
    seen = torch.where(dropped, torch.full_like(hidden, 16.0), hidden)
    assert torch.equal(out.times[-1], net.layers[1](seen)[0])
    assert not torch.equal(out.times[-1], reference.times[-1])
    hidden.retain_grad()
    relative_target_mse(out.times[-1], torch.arange(8) % 3, 16).backward()
    assert hidden.grad is not None and (hidden.grad[dropped] == 0).all()
    assert (hidden.grad[~dropped] != 0).any()


def test_input_dropout_silences_input_spikes_in_training_only() -> None:
    x = torch.randint(0, 17, (8, 20)).float()
    reference = _net(0.0).eval()(x)
    net = _net(0.0, p_in=0.4)
    assert torch.equal(net.eval()(x).times[-1], reference.times[-1])
    net.train()
    torch.manual_seed(3)
    out = net(x)
    torch.manual_seed(3)
    dropped = (torch.rand(x.shape) < 0.4) & (x < 16)
    assert dropped.any()
    seen = torch.where(dropped, torch.full_like(x, 16.0), x)
    assert torch.equal(out.times[0], net.layers[0](seen)[0])
    assert not torch.equal(out.times[0], reference.times[0])


@pytest.mark.parametrize("p, p_in, name", [(-0.1, 0.0, "hidden_dropout"),
                                           (1.0, 0.0, "hidden_dropout"),
                                           (0.0, 1.0, "input_dropout"),
                                           (0.0, -0.5, "input_dropout")])
def test_impossible_dropout_is_refused(p: float, p_in: float, name: str) -> None:
    with pytest.raises(ValueError, match=rf"{name} must be in \[0, 1\)"):
        _net(p, p_in)


def test_a_bad_input_is_refused_even_where_input_dropout_would_silence_it() -> None:
    net = _net(0.0, p_in=0.99).train()
    x = torch.zeros(4, 20)
    x[0, 3] = float("nan")
    with pytest.raises(ValueError, match="1 NaN"):
        net(x)
