"""One runner per benchmarked model: untimed input preparation, then timed train / infer batches.

Input preparation outside the timed region: the latency code of every sample (spike times,
as a dataset transform would cache them) and the ANN's x / 255. Inside the timed region:
everything a training or inference step of that approach does, including building the
dense (T, B, N) spike raster for the clock-driven and BPTT models, which is part of them.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

from bstdg.bench.baselines import BPTTNet, ClockDrivenNet, dense_raster, make_ann
from bstdg.encoding import LatencyEncoder
from bstdg.snn import SpikingNet, decide, relative_target_mse

MODELS = ("bstdg", "ann", "clock_driven", "bptt")
HIDDEN = 400
N_CLASSES = 10
SETTINGS = {
    "bstdg": "SpikingNet(784, 10, T, hidden=[400], backend='auto'), relative_target_mse "
             "(gamma 3, s4nn targets), SGD lr 10 (per-sample normalised gradient), linear "
             "latency code, black pixels silent; on one thread the numba backend runs the "
             "whole net as one autograd Function (SpikingNet fused=True, the default)",
    "ann": "Linear(784,400)-ReLU-Linear(400,10), Adam lr 1e-3, cross-entropy, input x/255",
    "clock_driven": "the same binarized SpikingNet simulated step by step: dense (B,N) update "
                    "of every neuron at every t = 0..T-1, no early exit, dense input raster "
                    "stored for the S4NN-style backward (same rule, same loss, SGD lr 10), "
                    "float32",
    "bptt": "LIF 784-400-10 (beta 0.95, threshold 1, subtractive reset), fast-sigmoid "
            "surrogate (slope 25), BPTT over T steps of the dense latency raster, CE on "
            "output spike counts, Adam lr 5e-4",
}


def encode_times(x_u8: torch.Tensor, T: int, chunk: int = 8192) -> torch.Tensor:
    """Linear latency code (black pixels silent) of every row, as float32 times."""
    enc = LatencyEncoder(T, code="linear", zero_intensity_spikes=False)
    return torch.cat([enc(x_u8[i:i + chunk]).float() for i in range(0, len(x_u8), chunk)])


class Runner:
    """train_batch(lo, hi) does one optimiser step on samples lo:hi; infer_batch predicts."""

    name = ""

    def train_batch(self, lo: int, hi: int) -> None:
        raise NotImplementedError

    def infer_batch(self, lo: int, hi: int) -> torch.Tensor:
        raise NotImplementedError

    # set by models that can stop each sample at its first output spike
    infer_early_exit_batch: Callable[[int, int], torch.Tensor] | None = None


class SpikeTimingRunner(Runner):
    """BSTDG (event-driven backend) or, with ``clock_driven``, the clock-driven baseline."""

    def __init__(self, x_u8: torch.Tensor, y: torch.Tensor, T: int, clock_driven: bool = False,
                 lr: float = 10.0, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.name = "clock_driven" if clock_driven else "bstdg"
        self.T = T
        self.net = SpikingNet(784, N_CLASSES, T, hidden=[HIDDEN], backend="auto").to(x_u8.device)
        self.model = ClockDrivenNet(self.net) if clock_driven else self.net
        self.opt = torch.optim.SGD(self.net.parameters(), lr=lr)
        self.t = encode_times(x_u8, T)
        self.y = y
        if not clock_driven:
            self.infer_early_exit_batch = self._infer_early_exit

    def train_batch(self, lo: int, hi: int) -> None:
        out = self.model(self.t[lo:hi])
        loss = relative_target_mse(out.out_times, self.y[lo:hi], self.T)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        self.net.constrain_()

    @torch.no_grad()
    def infer_batch(self, lo: int, hi: int) -> torch.Tensor:
        out = self.model(self.t[lo:hi])
        return decide(out.out_times, out.v_fire, out.v_end, self.T)

    @torch.no_grad()
    def _infer_early_exit(self, lo: int, hi: int) -> torch.Tensor:
        """The same decisions, each sample stopped at its first output spike."""
        return self.net.predict_early_exit(self.t[lo:hi])[0]


class ANNRunner(Runner):
    name = "ann"

    def __init__(self, x_u8: torch.Tensor, y: torch.Tensor, T: int = 0, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.model = make_ann(784, HIDDEN, N_CLASSES).to(x_u8.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=1e-3)
        self.x = x_u8.float() / 255.0
        self.y = y

    def train_batch(self, lo: int, hi: int) -> None:
        loss = F.cross_entropy(self.model(self.x[lo:hi]), self.y[lo:hi])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    @torch.no_grad()
    def infer_batch(self, lo: int, hi: int) -> torch.Tensor:
        return self.model(self.x[lo:hi]).argmax(dim=1)


class BPTTRunner(Runner):
    name = "bptt"

    def __init__(self, x_u8: torch.Tensor, y: torch.Tensor, T: int, seed: int = 0) -> None:
        torch.manual_seed(seed)
        self.T = T
        self.model = BPTTNet(784, HIDDEN, N_CLASSES).to(x_u8.device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=5e-4)
        self.t = encode_times(x_u8, T).long()
        self.y = y

    def train_batch(self, lo: int, hi: int) -> None:
        counts = self.model(dense_raster(self.t[lo:hi], self.T))
        loss = F.cross_entropy(counts, self.y[lo:hi])
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()

    @torch.no_grad()
    def infer_batch(self, lo: int, hi: int) -> torch.Tensor:
        return self.model(dense_raster(self.t[lo:hi], self.T)).argmax(dim=1)


def make_runner(model: str, x_u8: np.ndarray | torch.Tensor, y: np.ndarray | torch.Tensor,
                T: int, device: torch.device | str = "cpu") -> Runner:
    """Build the runner of ``model`` (one of MODELS) with its inputs prepared on ``device``."""
    x = torch.as_tensor(x_u8, dtype=torch.uint8).to(device)
    labels = torch.as_tensor(y, dtype=torch.long).to(device)
    if model == "bstdg":
        return SpikeTimingRunner(x, labels, T)
    if model == "clock_driven":
        return SpikeTimingRunner(x, labels, T, clock_driven=True)
    if model == "ann":
        return ANNRunner(x, labels)
    if model == "bptt":
        return BPTTRunner(x, labels, T)
    raise ValueError(f"unknown model {model!r}; valid: {', '.join(MODELS)}")
