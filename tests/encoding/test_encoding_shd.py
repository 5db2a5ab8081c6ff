import pytest
import torch

from bstdg.encoding import SHDFirstSpikeEncoder, shd_first_spike

INF = float("inf")


def make_events() -> torch.Tensor:
    """Two samples, E = 5, T = 100, t_window = 1.0 s (10 ms bins), 8 channels."""
    s0 = [
        [0.255, 3.0],  # ch 3, bin 25
        [0.101, 3.0],  # ch 3 again, earlier -> first spike bin 10
        [1.200, 5.0],  # ch 5, outside the window -> ignored
        [0.999, 7.0],  # ch 7, last bin 99
        [INF, 0.0],  # padding
    ]
    s1 = [
        [0.0, 0.0],  # ch 0, bin 0
        [0.5, 2.0],  # ch 2, exact bin edge 50
        [0.505, 2.0],  # ch 2 again, same bin 50
        [INF, 0.0],  # padding
        [INF, 0.0],  # padding
    ]
    return torch.tensor([s0, s1], dtype=torch.float32)


def test_first_spike_hand_made() -> None:
    t = shd_first_spike(make_events(), T=100, n_channels=8)
    assert t.dtype == torch.int64 and t.shape == (2, 8)
    assert t.tolist() == [
        [100, 100, 100, 10, 100, 100, 100, 99],
        [0, 100, 50, 100, 100, 100, 100, 100],
    ]


def test_first_spike_window_and_T() -> None:
    ev = make_events()
    # t_window 0.2 s, T = 4 -> 50 ms bins; only ch 3 (0.101) of sample 0 and ch 0 of sample 1
    t = shd_first_spike(ev, T=4, n_channels=8, t_window=0.2)
    assert t.tolist() == [
        [4, 4, 4, 2, 4, 4, 4, 4],
        [0, 4, 4, 4, 4, 4, 4, 4],
    ]
    # longer window: the 1.2 s event of ch 5 becomes visible
    t = shd_first_spike(ev, T=2, n_channels=8, t_window=2.0)
    assert t[0].tolist() == [2, 2, 2, 0, 2, 1, 2, 0]


def test_first_spike_only_padding_and_empty() -> None:
    ev = torch.full((3, 4, 2), INF)
    ev[..., 1] = 0
    assert bool((shd_first_spike(ev, T=10, n_channels=5) == 10).all())
    empty = torch.zeros(2, 0, 2)
    assert shd_first_spike(empty, T=10, n_channels=5).tolist() == [[10] * 5] * 2


def test_first_spike_matches_reference_random() -> None:
    g = torch.Generator().manual_seed(1)
    B, E, C, T = 3, 200, 50, 64
    times = torch.rand(B, E, generator=g) * 1.3
    units = torch.randint(0, C, (B, E), generator=g).float()
    times[:, -20:] = INF
    ev = torch.stack([times, units], dim=-1)
    t = shd_first_spike(ev, T=T, n_channels=C)
    for b in range(B):
        for c in range(C):
            ts = [float(times[b, k]) for k in range(E) if int(units[b, k]) == c]
            ts = [x for x in ts if x < 1.0]
            exp = int(min(ts) * T) if ts else T
            assert t[b, c].item() == exp


def test_first_spike_device(device: torch.device) -> None:
    ev = make_events().to(device)
    t = SHDFirstSpikeEncoder(100, n_channels=8)(ev)
    assert t.dtype == torch.int64 and t.device.type == device.type
    assert torch.equal(t.cpu(), shd_first_spike(make_events(), 100, n_channels=8))


def test_first_spike_errors() -> None:
    ev = make_events()
    with pytest.raises(ValueError, match=r"T must be an integer >= 2, got 1"):
        shd_first_spike(ev, T=1)
    with pytest.raises(ValueError, match=r"units must lie in \[0, 4\)"):
        shd_first_spike(ev, T=10, n_channels=4)
    with pytest.raises(ValueError, match="shape"):
        shd_first_spike(ev[..., :1], T=10)
    with pytest.raises(ValueError, match="t_window"):
        SHDFirstSpikeEncoder(100, t_window=0.0)
    with pytest.raises(ValueError, match="n_channels"):
        SHDFirstSpikeEncoder(100, n_channels=0)
    with pytest.raises(ValueError, match=r"T must be an integer >= 2"):
        SHDFirstSpikeEncoder(1)


def test_encoder_attributes() -> None:
    enc = SHDFirstSpikeEncoder(100)
    assert enc.T == 100 and enc.t_window == 1.0 and enc.n_channels == 700
