"""Early-exit inference (simulation stopped at the first output spike) decides exactly as the
full forward followed by ``decide``, for any depth, delay, threshold sign and fallback."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn import SpikingNet, decide, decision_time
from bstdg.snn.backends.numba.primitives import NARROW_MAX_INPUTS


def _net(sizes: tuple[int, ...], T: int, delay: int, seed: int, backend: str) -> SpikingNet:
    torch.manual_seed(seed)
    n_layers = len(sizes) - 1
    net = SpikingNet(sizes[0], sizes[-1], T, hidden=list(sizes[1:-1]), binary=True,
                     threshold_init=[1.0] * n_layers, delay=delay,
                     init_range=[[-1.0, 1.5]] * n_layers, backend=backend)
    with torch.no_grad():
        for layer in net.layers:
            # integer and half-integer thresholds from -1 to 6: some fire before any input
            layer.threshold.copy_(torch.randint(-2, 13, layer.threshold.shape) / 2.0)
    return net


def _inputs(n: int, T: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t_in = torch.randint(0, T + 1, (40, n), generator=gen).float()
    t_in[torch.rand(40, n, generator=gen) < 0.3] = T
    t_in[0] = T          # a silent sample
    t_in[1] = 0          # every input at one time
    return t_in


@pytest.mark.parametrize("sizes", [(30, 12, 5), (20, 9, 7, 4), (20, 140, 70)])
@pytest.mark.parametrize("T,delay", [(2, 0), (8, 1), (16, 0), (64, 2)])
@pytest.mark.parametrize("fallback", ["max_potential", "lowest_index", "none"])
def test_early_exit_matches_full_forward(sizes, T: int, delay: int, fallback: str) -> None:
    for seed in range(3):
        net = _net(sizes, T, delay, seed, backend="numba")
        t_in = _inputs(sizes[0], T, seed)
        pred, steps = net.predict_early_exit(t_in, fallback)
        ref = net(t_in)
        assert torch.equal(pred, decide(ref.out_times, ref.v_fire, ref.v_end, T, fallback))
        assert torch.equal(steps, decision_time(ref.out_times).long())


def test_other_backends_fall_back_to_the_full_forward() -> None:
    net = _net((30, 12, 5), 16, 1, 0, backend="reference")
    t_in = _inputs(30, 16, 0)
    pred, steps = net.predict_early_exit(t_in)
    fast, fast_steps = _net((30, 12, 5), 16, 1, 0, backend="numba").predict_early_exit(t_in)
    assert torch.equal(pred, fast) and torch.equal(steps, fast_steps)


def test_early_exit_rejects_bad_input() -> None:
    net = _net((30, 12, 5), 16, 1, 0, backend="numba")
    with pytest.raises(ValueError, match="spike times"):
        net.predict_early_exit(torch.full((2, 30), 17.0))
    with pytest.raises(ValueError, match="unknown fallback"):
        net.predict_early_exit(torch.zeros(2, 30), "argmax")


@pytest.mark.parametrize("threads", [1, 2])
def test_early_exit_same_on_one_and_two_threads(threads: int) -> None:
    """One thread runs the serial kernel body, two the parallel kernel (chunks reuse their
    buffers from sample to sample)."""
    net = _net((30, 12, 5), 16, 1, 0, backend="numba")
    t_in = _inputs(30, 16, 0)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        pred, steps = net.predict_early_exit(t_in)
    finally:
        torch.set_num_threads(before)
    ref = net(t_in)
    assert torch.equal(pred, decide(ref.out_times, ref.v_fire, ref.v_end, 16))
    assert torch.equal(steps, decision_time(ref.out_times).long())


def test_early_exit_on_a_layer_wider_than_int16_potentials() -> None:
    """Fan-in of NARROW_MAX_INPUTS or more: every layer's potentials are int32, and hidden
    potentials past the int16 range decide as the full forward does."""
    n_in, T = NARROW_MAX_INPUTS + 40, 8
    net = _net((n_in, 6, 3), T, 1, 0, backend="numba")
    with torch.no_grad():
        net.layers[0].weight.abs_()
        net.layers[0].threshold.copy_(torch.tensor([n_in - 0.5, n_in + 0.5, 16384.5, 2.0,
                                                    -0.5, 20000.0]))
    t_in = torch.zeros(4, n_in)
    t_in[1, n_in // 2:] = 3
    t_in[2, ::3] = T
    t_in[3] = T
    pred, steps = net.predict_early_exit(t_in)
    ref = net(t_in)
    assert ref.hidden_times[0][0, :3].tolist() == [1, T, 1]  # crossed (or not) above 2**14
    assert torch.equal(pred, decide(ref.out_times, ref.v_fire, ref.v_end, T))
    assert torch.equal(steps, decision_time(ref.out_times).long())
