"""The numba backend against the reference (and torch) backend: identical spike times,
equal potentials, gradients within float tolerance."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn.backends.numba import launch
from bstdg.snn.backends.numba.backend import forward_numba, grads_numba
from bstdg.snn.backends.numba.primitives import NARROW_MAX_INPUTS
from bstdg.snn.backends.reference import forward_reference, grads_reference
from bstdg.snn.backends.torch_ops import forward_torch, grads_torch
from bstdg.snn.rules import GradientRule

N_IN, N_OUT = 50, 13
RULES = {
    "const": GradientRule(kernel="const"),
    "const_incl": GradientRule(kernel="const", causal_inclusive=True),
    "exp": GradientRule(kernel="exp"),
    "exp_B": GradientRule(kernel="exp", B=0.3, tau=3.0),
    "exp_B_incl": GradientRule(kernel="exp", A=0.8, B=0.2, causal_inclusive=True),
    "linear": GradientRule(kernel="linear_relpsp"),
}


def _case(seed: int, batch: int, T: int, binary: bool, per_neuron: bool):
    gen = torch.Generator().manual_seed(seed)
    t_in = torch.randint(0, T + 1, (batch, N_IN), generator=gen)
    # a share of inputs that do not spike, like latency-coded images
    t_in[torch.rand(batch, N_IN, generator=gen) < 0.3] = T
    w = torch.randn(N_OUT, N_IN, generator=gen)
    if binary:
        w = torch.where(w >= 0, 1.0, -1.0)
        theta = torch.randint(-1, 8, (N_OUT,), generator=gen).float() + 0.5 * per_neuron
    else:
        theta = torch.rand(N_OUT, generator=gen) * 4.0 - 0.5
    if not per_neuron:
        theta = theta[:1].expand(N_OUT).contiguous()
    g = torch.randn(batch, N_OUT, generator=gen)
    g[torch.rand(batch, N_OUT, generator=gen) < 0.2] = 0.0
    return t_in, w, theta, g


def _assert_forward_equal(out, ref) -> None:
    assert out.times.dtype == torch.int64
    assert out.v_fire.dtype == out.v_end.dtype == torch.float32
    assert torch.equal(out.times, ref.times)
    assert torch.equal(out.v_fire, ref.v_fire)
    assert torch.equal(out.v_end, ref.v_end)


def _assert_grads_close(out, ref) -> None:
    """dW is accumulated in float32 over the batch, so its rounding error scales with the
    largest terms (up to kappa = T for linear_relpsp), not with each element."""
    for a, b in zip(out, ref, strict=True):
        assert a.dtype == torch.float32
        scale = max(1.0, float(b.abs().max()))
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-5 * scale)


def _check(t_in, w, theta, g, T, delay, rules=tuple(RULES)) -> None:
    ref = forward_reference(t_in, w, theta, T, delay)
    out = forward_numba(t_in, w, theta, T, delay)
    _assert_forward_equal(out, ref)
    for name in rules:
        spec = RULES[name].kernel_spec(T)
        expect = grads_reference(t_in, ref.times, g, w, spec, T)
        _assert_grads_close(grads_numba(t_in, ref.times, g, w, spec, T), expect)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "real"])
@pytest.mark.parametrize("T", [2, 5, 16, 64])
@pytest.mark.parametrize("batch", [1, 7, 33])
def test_random_cases_match_reference(binary: bool, T: int, batch: int) -> None:
    for seed in range(3):
        t_in, w, theta, g = _case(seed, batch, T, binary, per_neuron=seed != 0)
        for delay in (0, 1, 2):
            _check(t_in, w, theta, g, T, delay)


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "real"])
def test_layers_wider_than_one_scan_block_match_reference(binary: bool) -> None:
    """150 outputs: the crossing scan's blocks (64 neurons) and a partial last block."""
    gen = torch.Generator().manual_seed(11)
    T, n_out = 16, 150
    t_in = torch.randint(0, T + 1, (9, N_IN), generator=gen)
    w = torch.randn(n_out, N_IN, generator=gen)
    if binary:
        w = torch.where(w >= 0, 1.0, -1.0)
    theta = torch.rand(n_out, generator=gen) * 6.0 - 1.0
    g = torch.randn(9, n_out, generator=gen)
    for delay in (0, 1):
        _check(t_in, w, theta, g, T, delay, rules=("const",))


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.skipif(
    not torch.cuda.is_available(), reason="needs a CUDA device"))]


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("binary", [True, False], ids=["binary", "real"])
def test_matches_torch_backend(binary: bool, device: str) -> None:
    """numba (CPU) against the torch backend on CPU and, where there is one, on CUDA (the
    GPU path)."""
    T = 16
    t_in, w, theta, g = _case(7, 9, T, binary, per_neuron=True)
    if not binary:  # the torch backend accumulates real weights in float32
        w = torch.round(w * 8) / 8
    t_d, w_d, theta_d, g_d = (x.to(device) for x in (t_in, w, theta, g))
    ref = forward_numba(t_in, w, theta, T, 1)
    out = forward_torch(t_d, w_d, theta_d, T, 1)
    _assert_forward_equal(type(out)(*(x.cpu() for x in out)), ref)
    for rule in RULES.values():
        spec = rule.kernel_spec(T)
        got = grads_torch(t_d, ref.times.to(device), g_d, w_d, spec, T)
        _assert_grads_close([x.cpu() for x in got], grads_numba(t_in, ref.times, g, w, spec, T))


def _hand_cases():
    """(name, t_in, w, theta, T): edge cases of the event-driven walk."""
    T = 8
    w = torch.tensor([[1.0, 1.0, -1.0, 1.0], [1.0, -1.0, 1.0, 1.0], [-1.0, -1.0, -1.0, -1.0]])
    yield "ties", torch.tensor([[3, 3, 5, 8], [0, 0, 0, 1]]), w, torch.tensor([1.5, 0.5, -2.5]), T
    yield "no_spikes", torch.full((3, 4), T), w, torch.tensor([0.0, -0.5, 1.0]), T
    yield "one_time", torch.full((2, 4), 4), w, torch.tensor([1.0, 0.5, -3.5]), T
    # neuron 0 crosses at step 6 = T - 1 - delay (delay 1): t = 7, the last allowed step;
    # neuron 1 crosses at step 7 only: too late with delay 1, allowed with delay 0
    t_last = torch.tensor([[0, 6, 7, 8], [6, 7, 7, 8]])
    yield "last_step", t_last, torch.ones(2, 4), torch.tensor([1.5, 2.5]), T
    yield "T2", torch.tensor([[0, 1, 2, 2], [1, 1, 0, 2]]), w, torch.tensor([0.5, 0.5, -1.5]), 2
    # thresholds beyond the int16 potentials' clip range [-2**14, 2**14 - 1], and NaN
    w4 = torch.cat([w, torch.ones(2, 4)])
    theta_far = torch.tensor([1e9, -1e9, 16383.5, -16384.5, float("nan")])
    yield "far_thresholds", torch.tensor([[0, 2, 2, 5], [8, 8, 8, 8]]), w4, theta_far, T
    gen = torch.Generator().manual_seed(3)
    t_big = torch.randint(0, 1025, (4, N_IN), generator=gen)
    w_big = torch.where(torch.randn(N_OUT, N_IN, generator=gen) >= 0, 1.0, -1.0)
    yield "T1024_binary", t_big, w_big, torch.full((N_OUT,), 2.0), 1024
    w_real = torch.randn(N_OUT, N_IN, generator=gen)
    yield "T1024_real", t_big, w_real, torch.full((N_OUT,), 1.0), 1024


HAND = list(_hand_cases())


@pytest.mark.parametrize("dtype", [torch.int64, torch.float32])
@pytest.mark.parametrize("case", HAND, ids=[c[0] for c in HAND])
def test_hand_made_cases(case, dtype: torch.dtype) -> None:
    _, t_in, w, theta, T = case
    gen = torch.Generator().manual_seed(0)
    g = torch.randn(t_in.shape[0], w.shape[0], generator=gen)
    for delay in (0, 1, 2):
        _check(t_in.to(dtype), w, theta, g, T, delay)


@pytest.mark.parametrize("delay", [0, 1])
def test_wide_layer_potentials_beyond_int16(delay: int) -> None:
    """A layer with NARROW_MAX_INPUTS inputs or more accumulates in int32: potentials past
    the int16 clip range cross (or not) thresholds just below (above) N_in as in the
    reference."""
    n_in = NARROW_MAX_INPUTS + 40
    t_in = torch.zeros(3, n_in, dtype=torch.int64)
    t_in[1, n_in // 2:] = 3        # half the inputs at step 0, half at step 3
    t_in[2, ::3] = 8               # a third silent
    w = torch.ones(4, n_in)
    w[3, ::2] = -1.0
    theta = torch.tensor([n_in - 0.5, n_in + 0.5, 2.0**14 + 0.5, -0.5])
    g = torch.randn(3, 4, generator=torch.Generator().manual_seed(0))
    _check(t_in, w, theta, g, 8, delay, rules=("const",))
    assert forward_numba(t_in, w, theta, 8, delay).times[0, :3].tolist() == [delay, 8, delay]


def test_last_allowed_step() -> None:
    t_in = torch.tensor([[0, 6, 7, 8]])
    w = torch.ones(2, 4)
    out = forward_numba(t_in, w, torch.tensor([1.5, 2.5]), 8, 1)
    assert out.times.tolist() == [[7, 8]]
    assert out.v_fire.tolist() == [[2.0, 3.0]] and out.v_end.tolist() == [[3.0, 3.0]]
    assert forward_numba(t_in, w, torch.tensor([1.5, 2.5]), 8, 0).times.tolist() == [[6, 7]]


def test_negative_threshold_fires_before_any_input() -> None:
    t_in = torch.tensor([[3, 5], [8, 8]])
    w = torch.tensor([[1.0, 1.0], [-1.0, -1.0]])
    out = forward_numba(t_in, w, torch.tensor([-0.5, -0.5]), 8, 1)
    assert out.times.tolist() == [[1, 1], [1, 1]]
    assert out.v_fire.tolist() == [[0.0, 0.0], [0.0, 0.0]]
    assert out.v_end.tolist() == [[2.0, -2.0], [0.0, 0.0]]


@pytest.mark.parametrize("min_batch", [1, 256])
@pytest.mark.parametrize("threads", [1, 2])
def test_thread_count_does_not_change_results(threads: int, min_batch: int, monkeypatch) -> None:
    """Parallel (every batch, min_batch=1) and serial (small batches) runs agree."""
    monkeypatch.setattr(launch, "PARALLEL_MIN_BATCH", min_batch)
    T = 16
    t_in, w, theta, g = _case(11, 33, T, binary=True, per_neuron=True)
    spec = RULES["exp_B"].kernel_spec(T)
    before = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        out = forward_numba(t_in, w, theta, T, 1)
        grads = grads_numba(t_in, out.times, g, w, spec, T)
    finally:
        torch.set_num_threads(before)
    ref = forward_reference(t_in, w, theta, T, 1)
    _assert_forward_equal(out, ref)
    _assert_grads_close(grads, grads_reference(t_in, ref.times, g, w, spec, T))


@pytest.mark.parametrize("bad", [-1, 9])
def test_out_of_range_times_are_rejected(bad: int) -> None:
    t = torch.tensor([[0, bad]])
    w = torch.ones(2, 2)
    with pytest.raises(ValueError, match="spike times"):
        forward_numba(t, w, torch.zeros(2), 8, 1)
    with pytest.raises(ValueError, match="spike times"):
        grads_numba(torch.zeros(1, 2), t, torch.ones(1, 2), w, RULES["exp"].kernel_spec(8), 8)
