"""What a real-valued fully-connected net can get from Caltech Face/Motorbike pixels.

Trains, on the same seeded splits as ``experiment=caltech_bstdg`` (seed = split; the 90 %
training part, model chosen on the 10 % validation part), a logistic regression and a
one-hidden-layer ReLU MLP (100 units, real weights, Adam, weight decay) on the raw greyscale
pixels scaled to [0, 1], and prints their test accuracy per split and the mean. This bounds
what a fully-connected network on these inputs can show, independent of spikes or binary
weights.

    python sweeps/caltech_pixel_probe.py --seeds 1 2 3 4 5 --resize 20 31
"""

from __future__ import annotations

import argparse

import numpy as np
import torch
from torch import nn

from bstdg.data.caltech import CaltechFaceMotorbikeDataModule


def _arrays(subset) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = subset[list(range(len(subset)))] if len(subset) else (torch.empty(0), torch.empty(0))
    return x.float() / 255.0, y.long()


def _fit(model: nn.Module, data: dict, epochs: int = 300) -> float:
    """Full-batch Adam; the test accuracy at the epoch of best validation accuracy."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    (x, y), (xv, yv), (xt, yt) = data["train"], data["val"], data["test"]
    best_val, test_at_best = -1.0, 0.0
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            val = (model(xv).argmax(1) == yv).float().mean().item()
            if val > best_val:
                best_val = val
                test_at_best = (model(xt).argmax(1) == yt).float().mean().item()
    return test_at_best


def _model(name: str, n_in: int) -> nn.Module:
    if name == "logistic":
        return nn.Linear(n_in, 2)
    return nn.Sequential(nn.Linear(n_in, 100), nn.ReLU(), nn.Linear(100, 2))


def main(argv: list[str] | None = None) -> dict[str, list[float]]:
    """Print and return the test accuracies per model and split."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--resize", type=int, nargs=2, default=[20, 31], metavar=("H", "W"))
    parser.add_argument("--train-per-class", type=int, default=200)
    parser.add_argument("--data-dir", default=None, help="default: $BSTDG_DATA_DIR")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    results: dict[str, list[float]] = {"logistic": [], "mlp100": []}
    for seed in args.seeds:
        dm = CaltechFaceMotorbikeDataModule(data_dir=args.data_dir, seed=seed,
                                            resize=args.resize, dog_filter="none",
                                            train_per_class=args.train_per_class)
        dm.setup()
        data = {"train": _arrays(dm.train_set), "val": _arrays(dm.val_set),
                "test": _arrays(dm.test_set)}
        for name in results:
            torch.manual_seed(seed)
            results[name].append(_fit(_model(name, data["train"][0].shape[1]), data))
        print(f"split {seed}: " + ", ".join(f"{k} {v[-1]:.4f}" for k, v in results.items()),
              flush=True)
    print("mean: " + ", ".join(f"{k} {100 * np.mean(v):.2f} %" for k, v in results.items()))
    return results


if __name__ == "__main__":
    main()
