"""What a real-valued read-out gets from the Caltech Face/Motorbike inputs, as run records.

Per split, input size and filter, a logistic regression and a one-hidden-layer ReLU MLP (100
units, real weights, full-batch Adam with weight decay) are trained on what the spiking nets
see before spike encoding: greyscale pixels, or DoG ON/OFF maps (``dog_filter=on_off``),
scaled to [0, 1]. The epoch is chosen on the 10 % validation part of the training images
(accuracy, then loss) and tested. This bounds what a fully-connected network can show on that input,
independent of spikes or binary weights.

Each (input, model, seed) becomes a finished run folder ``OUT/<split>_<H>x<W>_<filter>/<model>/
<seed>/metrics.json`` (experiment ``caltech_probe_<model>``, ``cfg/data.*`` keys,
``val/acc_best``, ``test/acc``), which ``bstdg-report`` and ``docs/results.yaml`` read like a
training run. ``--split random`` draws 200 training images per class with the seed
(``experiment=caltech_bstdg``'s splits); ``--split sdnn`` is the fixed 200 / 198 per class list
in ``caltech101/splits/sdnn_python`` (the seed then draws only the validation part).

    python sweeps/caltech_probe.py --out logs/tables/caltech_probe --seeds 1 2 3 4 5 \\
        --sizes 20x31 160x250 --filters none on_off --split random
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import torch
from torch import nn

from bstdg.data.caltech import CaltechFaceMotorbikeDataModule
from bstdg.utils.metrics_file import write_metrics
from bstdg.utils.run_info import run_metadata

MODELS = ("logistic", "mlp100")


def _arrays(subset) -> tuple[torch.Tensor, torch.Tensor]:
    x, y = subset[list(range(len(subset)))] if len(subset) else (torch.empty(0), torch.empty(0))
    return x.float() / 255.0, y.long()


def _accuracy(model: nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    return (model(x).argmax(1) == y).float().mean().item()


def fit(model: nn.Module, data: dict, epochs: int) -> tuple[float, float]:
    """Full-batch Adam; (validation accuracy, test accuracy) at the epoch chosen on validation:
    the best accuracy, ties (a 40-image validation part saturates) broken by the lower loss."""
    opt = torch.optim.Adam(model.parameters(), lr=1e-2, weight_decay=1e-3)
    (x, y), (xv, yv), (xt, yt) = data["train"], data["val"], data["test"]
    best, chosen = (-1.0, 0.0), (0.0, 0.0)
    for _ in range(epochs):
        model.train()
        opt.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        opt.step()
        model.eval()
        with torch.no_grad():
            logits = model(xv)
            score = ((logits.argmax(1) == yv).float().mean().item(),
                     -nn.functional.cross_entropy(logits, yv).item())
            if score > best:
                best, chosen = score, (score[0], _accuracy(model, xt, yt))
    return chosen


def _model(name: str, n_in: int) -> nn.Module:
    if name == "logistic":
        return nn.Linear(n_in, 2)
    return nn.Sequential(nn.Linear(n_in, 100), nn.ReLU(), nn.Linear(100, 2))


def _size(text: str) -> tuple[int, int]:
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size {text!r}: write it as HxW, e.g. 20x31") from None
    return h, w


def _data(args: argparse.Namespace, seed: int, size: tuple[int, int], dog: str) -> dict:
    dm = CaltechFaceMotorbikeDataModule(data_dir=args.data_dir, seed=seed, resize=list(size),
                                        dog_filter=dog, split=args.split,
                                        train_per_class=args.train_per_class)
    dm.setup()
    return {"train": _arrays(dm.train_set), "val": _arrays(dm.val_set),
            "test": _arrays(dm.test_set)}


def main(argv: list[str] | None = None) -> list[Path]:
    """Write one run folder per (input, model, seed); return their metrics.json paths."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder of the run records")
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    parser.add_argument("--sizes", type=_size, nargs="+", default=[(20, 31)], metavar="HxW")
    parser.add_argument("--filters", nargs="+", default=["none"], choices=["none", "on_off"])
    parser.add_argument("--models", nargs="+", default=list(MODELS), choices=MODELS)
    parser.add_argument("--split", default="random", choices=["random", "sdnn"])
    parser.add_argument("--train-per-class", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument("--data-dir", default=None, help="default: $BSTDG_DATA_DIR")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    written = []
    for size in args.sizes:
        for dog in args.filters:
            for seed in args.seeds:
                data = _data(args, seed, size, dog)
                for name in args.models:
                    started = time.time()
                    torch.manual_seed(seed)
                    val, test = fit(_model(name, data["train"][0].shape[1]), data, args.epochs)
                    run_dir = (args.out / f"{args.split}_{size[0]}x{size[1]}_{dog}" / name
                               / str(seed))
                    written.append(write_metrics(run_dir / "metrics.json", {
                        "status": "finished", "experiment": f"caltech_probe_{name}",
                        "task": "probe", "seed": seed, "cfg/seed": seed,
                        "cfg/data.resize": list(size), "cfg/data.dog_filter": dog,
                        "cfg/data.split": args.split,
                        "cfg/data.train_per_class": args.train_per_class,
                        "cfg/probe.epochs": args.epochs, "val/acc_best": val, "test/acc": test,
                        "wall_s": time.time() - started, **run_metadata(),
                    }))
                    print(f"{run_dir}: val {100 * val:.2f} %, test {100 * test:.2f} %",
                          flush=True)
    return written


if __name__ == "__main__":
    main()
