"""NeuroBench's metrics (Yik et al., Nature Communications 2025; the ``neurobench`` package's
definitions) for a single-spike network, as NeuroBench would measure it run step by step
for the window ``T``:

* footprint: bytes of the network's parameters and buffers (``numel * element_size``);
* connection sparsity: the share of zero forward weights over every layer (binary layers
  have none: sign(0) = +1);
* activation sparsity: the share of zero neuron outputs over every spiking layer (hidden
  and output), every step of the window and every sample,
  ``1 - sum_k spikes_k / (T * sum_k N_k)``; a single-spike neuron is active at one step at
  most;
* synaptic operations per sample: ``effective_acs`` counts each spike that enters a layer
  (input spikes included) once per non-zero synapse it drives (``N_k`` each for binary
  weights; the platform's ``synops``); ``effective_macs`` is 0, as every layer's input is
  binary;
  ``dense`` counts every synapse at every step, ``T * sum_k N_{k-1} * N_k``.

The per-sample figures average over the test set as NeuroBench's accumulated metrics do
(totals divided by the number of samples).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from torch import nn

from bstdg.snn.spikes import binarize

PREFIX = "neurobench/"


def footprint_bytes(module: nn.Module) -> int:
    """Bytes of ``module``'s parameters and buffers."""
    return sum(t.numel() * t.element_size()
               for t in (*module.parameters(), *module.buffers()))


def connection_sparsity(layers: Sequence[nn.Module]) -> float:
    """Zero forward weights over all forward weights of ``layers`` (SpikingLinear)."""
    zeros = total = 0
    for layer in layers:
        w = layer.weight.detach()
        forward = binarize(w) if layer.spec.binary else w
        zeros += int((forward == 0).sum())
        total += forward.numel()
    return zeros / total


def dense_synaptic_operations(sizes: Sequence[int], T: int) -> int:
    """Every synapse at every step: ``T * sum_k sizes[k-1] * sizes[k]`` (``sizes``: input
    width, then each layer's width)."""
    return T * sum(a * b for a, b in zip(sizes[:-1], sizes[1:], strict=False))


def activation_sparsity(spikes_per_sample: float, neurons: int, T: int) -> float:
    """``1 - spikes / (neurons * T)``: zero outputs of ``neurons`` spiking neurons over ``T``
    steps, given their mean spike count per sample."""
    return 1.0 - spikes_per_sample / (neurons * T)


def neurobench_metrics(means: Mapping[str, float], net: nn.Module) -> dict[str, float]:
    """The ``neurobench/*`` figures of a test stage from its per-sample means (``acc``,
    ``synops``, ``spikes/layer<k>``, as :func:`~bstdg.snn.spike_stats.spike_statistics`
    names them) and the network (a :class:`~bstdg.snn.layers.SpikingNet`: its layers and
    window T)."""
    layers, T = net.layers, int(net.T)
    sizes = [layers[0].in_features, *(layer.out_features for layer in layers)]
    spikes = sum(float(means[f"spikes/layer{k}"]) for k in range(1, len(layers) + 1))
    return {
        f"{PREFIX}footprint": float(footprint_bytes(net)),
        f"{PREFIX}connection_sparsity": connection_sparsity(layers),
        f"{PREFIX}activation_sparsity": activation_sparsity(spikes, sum(sizes[1:]), T),
        f"{PREFIX}synaptic_operations/effective_acs": float(means["synops"]),
        f"{PREFIX}synaptic_operations/effective_macs": 0.0,
        f"{PREFIX}synaptic_operations/dense": float(dense_synaptic_operations(sizes, T)),
        f"{PREFIX}classification_accuracy": float(means["acc"]),
    }

