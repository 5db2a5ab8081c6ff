"""Cross-check of ``neurobench/*`` (bstdg.snn.neurobench) against the ``neurobench`` package.

Runs in a separate environment that has neurobench (docs/interop.md): neurobench pulls
torchaudio, whose wheel does not load beside the project's torch, so the project computes
NeuroBench's published definitions itself and this script compares them with the package.

A checkpoint's network is rebuilt as a time-stepped twin that NeuroBench's harness can
measure: per layer a ``torch.nn.Linear`` holding the forward weights (sign(W) for binary
layers) and a :class:`SingleSpikeIF` neuron module, stepped over the window T on the
one-hot input spikes; the twin's output spike times must equal the platform's first. The
twin carries the network's parameters and buffers, so both footprints count the same
tensors. NeuroBench's ``Benchmark`` then measures footprint, connection sparsity,
activation sparsity, synaptic operations and accuracy on the first ``--samples`` test
images, and the platform computes its figures from the same images.

    python sweeps/neurobench_check.py --ckpt RUN/checkpoints/<best>.ckpt --samples 1000
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import hydra
import torch
from neurobench.benchmarks import Benchmark
from neurobench.metrics.static import ConnectionSparsity, Footprint
from neurobench.metrics.workload import (
    ActivationSparsity,
    ClassificationAccuracy,
    SynapticOperations,
)
from neurobench.models import TorchModel
from omegaconf import open_dict
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from bstdg.loading import load_run
from bstdg.snn.neurobench import neurobench_metrics
from bstdg.snn.readout import decide
from bstdg.snn.spike_stats import spike_statistics
from bstdg.snn.spikes import binarize

RTOL = 1e-6


class SingleSpikeIF(nn.Module):
    """Non-leaky IF neuron stepped one step per call (bstdg.snn.functional.first_spike_times):
    V(t) = V(t - 1) + I(t) up to step ``last``; a neuron that has not fired and has
    V(t) > theta at a step with t + delay <= last emits its one spike at t + delay. It keeps
    V at the crossing (``v_fire``), at ``last`` (``v_last``) and at ``v_at`` (``v_end``, the
    step whose potential decides a sample with no output spike)."""

    def __init__(self, threshold: torch.Tensor, delay: int, last: int, v_at: int,
                 extra: dict[str, torch.Tensor]) -> None:
        super().__init__()
        self.register_buffer("threshold", threshold.detach().clone())
        for name, value in extra.items():  # the layer's other tensors, for the footprint
            self.register_buffer(name, value.detach().clone())
        self.delay, self.last, self.v_at = delay, last, min(v_at, last)

    def reset(self, batch: int, n: int) -> None:
        self.v = torch.zeros(batch, n, dtype=torch.float64)
        self.v_fire = torch.zeros(batch, n, dtype=torch.float64)  # V at the crossing step
        self.v_last = self.v_end = self.v
        self.fired = torch.zeros(batch, n, dtype=torch.bool)
        self.pending: list[torch.Tensor] = [torch.zeros(batch, n)] * self.delay
        self.t = 0

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        if self.t <= self.last:
            self.v = self.v + current.double()
            self.v_last = self.v
        if self.t == self.v_at:
            self.v_end = self.v
        if self.t + self.delay <= self.last:
            cross = ~self.fired & (self.v > self.threshold.double())
            self.v_fire = torch.where(cross, self.v, self.v_fire)
            self.fired |= cross
        else:
            cross = torch.zeros_like(self.fired)
        self.t += 1
        self.pending.append(cross.float())
        return self.pending.pop(0)


class SteppedTwin(nn.Module):
    """The network as Linear + SingleSpikeIF pairs stepped over T on (B, T, N) one-hot input
    spikes; returns the class decisions (the platform's rule on the twin's output spike
    times and potentials) and keeps each layer's spike times in ``times``."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.T, self.fallback = model.T, model.fallback
        fcs, neurons = [], []
        for layer in model.net.layers:
            w = layer.weight.detach()
            fc = nn.Linear(layer.in_features, layer.out_features, bias=False)
            fc.weight.data = (binarize(w) if layer.spec.binary else w).float().clone()
            fcs.append(fc)
            extra = {n.replace(".", "_"): t for n, t in (*layer.named_parameters(),
                                                       *layer.named_buffers())
                     if n not in ("weight", "threshold")}
            theta = layer.threshold.detach()  # (1,) or (N_out,), as the layer keeps it
            last = self.T - 1 - (layer.spec.window_trim or 0)
            v_at = self.T - model.net.fallback_offset
            neurons.append(SingleSpikeIF(theta, layer.spec.delay, last, v_at, extra))
        self.fcs, self.neurons = nn.ModuleList(fcs), nn.ModuleList(neurons)

    def forward(self, spikes: torch.Tensor) -> torch.Tensor:
        batch = spikes.shape[0]
        for fc, neuron in zip(self.fcs, self.neurons, strict=True):
            neuron.reset(batch, fc.out_features)
        self.times = [torch.full((batch, fc.out_features), self.T) for fc in self.fcs]
        for t in range(self.T):
            s = spikes[:, t]
            for k, (fc, neuron) in enumerate(zip(self.fcs, self.neurons, strict=True)):
                s = neuron(fc(s))
                self.times[k] = torch.where((s > 0) & (self.times[k] == self.T), t,
                                            self.times[k])
        out = self.neurons[-1]
        v_fire = torch.where(self.times[-1] < self.T, out.v_fire, out.v_last)
        return decide(self.times[-1], v_fire.float(), out.v_end.float(), self.T, self.fallback)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ckpt", type=Path, required=True, help="a .ckpt or a run folder")
    parser.add_argument("--samples", type=int, default=1000, help="first N test images")
    parser.add_argument("--batch-size", type=int, default=250)
    parser.add_argument("--data-dir", default=None, help="default: $BSTDG_DATA_DIR, else data")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    model, encoder, cfg, _ = load_run(args.ckpt)
    with open_dict(cfg):
        cfg.paths = {"data_dir": args.data_dir or os.environ.get("BSTDG_DATA_DIR", "data")}
    datamodule = hydra.utils.instantiate(cfg.data)
    datamodule.setup("test")
    test_set = datamodule.test_set
    x, y = test_set[list(range(min(args.samples, len(test_set))))]
    x, y = torch.as_tensor(x), torch.as_tensor(y)
    with torch.no_grad():
        t_in = encoder(x)
        out = model.net(t_in)
    pred = decide(out.out_times, out.v_fire, out.v_end, model.T, model.fallback)
    onehot = torch.stack([(t_in == t).float() for t in range(model.T)], 1)  # (B, T, N)

    twin = SteppedTwin(model)
    with torch.no_grad():
        twin_pred = twin(onehot)
    for k, (got, want) in enumerate(zip(twin.times, out.times, strict=True)):
        if not torch.equal(got.long(), want.long()):
            print(f"layer {k + 1}: the twin's spike times differ from the platform's on "
                  f"{int((got.long() != want.long()).sum())} entries", file=sys.stderr)
            return 1
    if not torch.equal(twin_pred, pred):
        print("the twin's decisions differ from the platform's", file=sys.stderr)
        return 1

    nb_model = TorchModel(twin)
    nb_model.add_activation_module(SingleSpikeIF)
    bench = Benchmark(nb_model, DataLoader(TensorDataset(onehot, y), batch_size=args.batch_size),
                      [], [], [[Footprint, ConnectionSparsity],
                               [ClassificationAccuracy, ActivationSparsity, SynapticOperations]])
    theirs = bench.run(quiet=True)
    means = {k: float(v.double().mean())
             for k, v in spike_statistics(t_in, out, model.T).items()}
    means["acc"] = float((pred == y).float().mean())
    ours = neurobench_metrics(means, model.net)
    pairs = {
        "footprint": theirs["Footprint"],
        "connection_sparsity": theirs["ConnectionSparsity"],
        "activation_sparsity": theirs["ActivationSparsity"],
        "synaptic_operations/effective_acs": theirs["SynapticOperations"]["Effective_ACs"],
        "synaptic_operations/effective_macs": theirs["SynapticOperations"]["Effective_MACs"],
        "synaptic_operations/dense": theirs["SynapticOperations"]["Dense"],
        "classification_accuracy": theirs["ClassificationAccuracy"],
    }
    bad = 0
    print(f"{len(y)} test images, {args.ckpt}")
    print(f"{'metric':40s} {'bstdg':>16s} {'neurobench':>16s}")
    for name, value in pairs.items():
        mine = ours[f"neurobench/{name}"]
        ok = abs(mine - value) <= RTOL * max(1.0, abs(value))
        bad += not ok
        print(f"{name:40s} {mine:16.6f} {value:16.6f} {'' if ok else 'DIFFERS'}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
