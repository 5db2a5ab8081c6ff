"""spike_statistics: per-sample values under the names statistic_names lists."""

from __future__ import annotations

import torch

from bstdg.snn import SpikingNet
from bstdg.snn.spike_stats import spike_statistics, statistic_names


def test_statistics_have_the_listed_names_and_per_sample_values() -> None:
    torch.manual_seed(0)
    net = SpikingNet(12, 3, T=16, hidden=[8, 5], init_range=[[-1.0, 3.0]] * 3,
                     threshold_init=[3.0, 3.0, 2.0],
                     backend="reference")
    t_in = torch.randint(0, 16, (6, 12)).float()
    out = net(t_in)
    stats = spike_statistics(t_in, out, 16)
    assert set(stats) == set(statistic_names(3))
    assert all(v.shape == (6,) for v in stats.values())
    hidden = sum((t < 16).sum(1) for t in out.hidden_times)
    assert torch.equal(stats["hidden_spikes"], hidden.float())
    assert torch.equal(stats["no_output_spike_frac"],
                       (out.out_times.min(1).values >= 16).float())
    assert torch.equal(stats["spikes/layer3"], (out.out_times < 16).sum(1).float())
