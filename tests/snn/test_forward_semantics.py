"""Forward semantics of the single-spike IF layer: hand-made cases and backend identity."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn import SpikingNet, binarize, first_spike_times
from bstdg.snn.backends.reference import forward_reference
from bstdg.snn.backends.torch_ops import forward_torch

BACKENDS = ["reference", "torch", "auto", "clock"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_hand_made_crossing_and_delay(backend: str) -> None:
    # inputs spike at 0, 2, 2 and never; weights +1 each, theta = 1.5: V = 1, 1, 3 -> cross at 2
    t_in = torch.tensor([[0, 2, 2, 8]])
    w = torch.ones(1, 4)
    for delay, expected in [(0, 2), (1, 3), (2, 4)]:
        out = first_spike_times(t_in, w, 1.5, T=8, delay=delay, backend=backend)
        assert out.times.tolist() == [[expected]]
        assert out.v_fire.tolist() == [[3.0]]
        assert out.v_end.tolist() == [[3.0]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_crossing_too_late_is_no_spike(backend: str) -> None:
    t_in = torch.tensor([[6, 7]])
    w = torch.ones(1, 2)
    # crossing at step 7 (V = 2 > 1.5) would spike at 8 = T: no spike, potentials reported
    out = first_spike_times(t_in, w, 1.5, T=8, delay=1, backend=backend)
    assert out.times.tolist() == [[8]]
    assert out.v_fire.tolist() == [[2.0]] and out.v_end.tolist() == [[2.0]]
    # crossing at step 6 is the last allowed one with delay 1
    out = first_spike_times(t_in, w, 0.5, T=8, delay=1, backend=backend)
    assert out.times.tolist() == [[7]]


@pytest.mark.parametrize("backend", BACKENDS)
def test_strict_threshold_and_silence(backend: str) -> None:
    t_in = torch.tensor([[0, 0], [4, 4]])  # second sample: no input spikes (T = 4)
    w = torch.ones(2, 2)
    out = first_spike_times(t_in, w, torch.tensor([2.0, 1.0]), T=4, delay=1, backend=backend)
    assert out.times.tolist() == [[4, 1], [4, 4]]  # V = 2 is not > 2
    assert out.v_end.tolist() == [[2.0, 2.0], [0.0, 0.0]]


def _random_case(seed: int, batch: int, n_in: int, n_out: int, T: int, binary: bool):
    gen = torch.Generator().manual_seed(seed)
    t_in = torch.randint(0, T + 1, (batch, n_in), generator=gen)
    w = torch.randn(n_out, n_in, generator=gen)
    w = binarize(w) if binary else w
    theta = torch.rand(n_out, generator=gen) * (4.0 if binary else 2.0)
    return t_in, w, theta


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("T,delay", [(2, 0), (2, 1), (5, 1), (16, 0), (16, 2), (64, 1), (1024, 1)])
@pytest.mark.parametrize("batch", [1, 9])
def test_torch_backend_matches_reference(binary: bool, T: int, delay: int, batch: int) -> None:
    t_in, w, theta = _random_case(T + batch, batch, 40, 11, T, binary)
    ref = forward_reference(t_in, w, theta, T, delay)
    fast = forward_torch(t_in, w, theta, T, delay)
    assert torch.equal(ref.times, fast.times)
    torch.testing.assert_close(ref.v_fire, fast.v_fire)
    torch.testing.assert_close(ref.v_end, fast.v_end)


def test_all_inputs_at_one_time_and_dtype_shapes() -> None:
    t_in = torch.full((3, 6), 2)
    w = binarize(torch.randn(5, 6))
    out = first_spike_times(t_in.float(), w, 0.5, T=10)
    assert out.times.dtype == torch.int64 and out.times.shape == (3, 5)
    fired = w.sum(1) > 0.5
    assert torch.equal(out.times[0], torch.where(fired, 3, 10))
    assert out.v_fire.shape == out.v_end.shape == (3, 5)


@pytest.mark.parametrize(
    "kwargs,match",
    [
        ({"T": 1}, "T must be an integer >= 2"),
        ({"delay": -1}, "delay must be >= 0"),
        ({"backend": "cuda-magic"}, "unknown backend"),
        ({"threshold": torch.ones(3)}, "threshold must be a scalar"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict, match: str) -> None:
    args = {"t_in": torch.zeros(2, 4, dtype=torch.long), "weight": torch.ones(5, 4),
            "threshold": 1.0, "T": 8, "delay": 1, "backend": "auto"} | kwargs
    with pytest.raises(ValueError, match=match):
        first_spike_times(**args)


def test_times_out_of_range_and_weight_shape_refused() -> None:
    with pytest.raises(ValueError, match=r"spike times must lie in \[0, T=8\]"):
        first_spike_times(torch.tensor([[9]]), torch.ones(1, 1), 1.0, T=8)
    with pytest.raises(ValueError, match="weight must have shape"):
        first_spike_times(torch.tensor([[1, 2]]), torch.ones(1, 3), 1.0, T=8)


@pytest.mark.parametrize("backend", ["reference", "torch", "numba"])
@pytest.mark.parametrize("value", [7.99999999, 2.00000001])
def test_float64_times_are_checked_before_the_float32_cast(backend: str, value: float) -> None:
    # float32 rounds both to integers (8 = no spike, 2): the layer must see the float64 value
    layer = SpikingNet(2, 1, T=8, hidden=[], threshold_init=1.0, init_range=[0.5, 1.0],
                       backend=backend).layers[0]
    with pytest.raises(ValueError, match="non-integer"):
        layer(torch.tensor([[value, 1.0]], dtype=torch.float64))
