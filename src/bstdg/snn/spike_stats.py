"""Per-sample spike statistics of a network output (pure torch, shared by metrics and callbacks).

The names are those of design.md §3 without the stage prefix; ``statistic_names`` lists them
for a net of ``n_layers`` spiking layers, so the Lightning module's metric list follows from
here.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

from bstdg.snn.layers import NetOutput
from bstdg.snn.readout import decision_time


def statistic_names(n_layers: int) -> list[str]:
    """The keys of :func:`spike_statistics` for a net of ``n_layers`` layers, in order."""
    return ["hidden_spikes", "hidden_spikes_before_decision", "decision_time",
            "no_output_spike_frac", "synops", *[f"spikes/layer{k}" for k in range(1, n_layers + 1)]]


def spike_statistics(t_in: torch.Tensor, out: NetOutput, T: int,
                     fan_outs: Sequence[torch.Tensor | int] | None = None
                     ) -> dict[str, torch.Tensor]:
    """Per-sample (B,) statistics, named as in design.md §3 (without the stage prefix).

    decision_time: first output spike step (T if none); no_output_spike_frac: 1 where no
    output fired; hidden_spikes: hidden neurons with t < T; hidden_spikes_before_decision:
    those with t < decision time; spikes/layer<k>: per layer (output layer included);
    synops: sum over spikes (input spikes included) of the fan-out of the neuron that spiked,
    ``fan_outs[k]`` (per input of layer k: an int or an (N_in,) tensor of its non-zero
    synapses, :meth:`~bstdg.snn.layers.SpikingLinear.fan_out`; default: the layer's width).
    """
    decision = decision_time(out.out_times.detach())
    stats: dict[str, torch.Tensor] = {
        "decision_time": decision.float(),
        "no_output_spike_frac": (decision >= T).float(),  # its mean is the fraction
    }
    hidden = out.hidden_times
    zeros = torch.zeros_like(decision, dtype=torch.float32)
    stats["hidden_spikes"] = sum(((t < T).sum(1).float() for t in hidden), zeros)
    stats["hidden_spikes_before_decision"] = sum(
        ((t < decision[:, None]).sum(1).float() for t in hidden), zeros
    )
    sources = [t_in, *out.times[:-1]]
    fans = fan_outs if fan_outs is not None else [t.shape[1] for t in out.times]
    stats["synops"] = sum(
        (((src < T).float() * torch.as_tensor(fan, dtype=torch.float32, device=src.device))
         .sum(1) for src, fan in zip(sources, fans, strict=True)), zeros
    )
    for k, t in enumerate(out.times, start=1):
        stats[f"spikes/layer{k}"] = (t.detach() < T).sum(1).float()
    return stats
