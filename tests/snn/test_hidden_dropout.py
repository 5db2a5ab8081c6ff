"""Hidden-spike dropout: training mode silences hidden spikes (and their error), evaluation
sees them all."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn import SpikingNet, relative_target_mse


def _net(p: float) -> SpikingNet:
    torch.manual_seed(0)
    return SpikingNet(20, 3, T=16, hidden=[30], threshold_init=[2.0, 2.0],
                      init_range=[[-1.0, 3.0], [-5.0, 5.0]], hidden_dropout=p)


def test_training_mode_silences_hidden_spikes_and_their_gradient() -> None:
    x = torch.randint(0, 17, (8, 20)).float()
    reference = _net(0.0).eval()(x).times[0]
    net = _net(0.5)
    net.eval()
    assert torch.equal(net(x).times[0], reference)  # evaluation: every spike
    net.train()
    torch.manual_seed(1)
    out = net(x)
    hidden = out.times[0]
    dropped = (hidden == 16) & (reference < 16)
    assert dropped.any() and torch.equal(hidden[~dropped], reference[~dropped])
    hidden.retain_grad()
    relative_target_mse(out.times[-1], torch.arange(8) % 3, 16).backward()
    assert hidden.grad is not None and (hidden.grad[dropped] == 0).all()


def test_output_layer_is_never_dropped() -> None:
    x = torch.randint(0, 17, (8, 20)).float()
    net = _net(0.9).train()
    torch.manual_seed(2)
    out_train = net(x).times[-1]
    # the output layer sees the dropped hidden spikes, but its own spikes are not dropped:
    # recomputing it from the same hidden times gives the same output times
    torch.manual_seed(2)
    hidden = net(x).times[0]
    assert torch.equal(net.layers[1](hidden)[0], out_train)


@pytest.mark.parametrize("p", [-0.1, 1.0])
def test_impossible_dropout_is_refused(p: float) -> None:
    with pytest.raises(ValueError, match=r"hidden_dropout must be in \[0, 1\)"):
        _net(p)
