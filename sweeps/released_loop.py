"""The released BS4NN training loop beside the platform's, on the same samples and weights.

Both loops start from the platform's initial weights for ``--seed`` (``experiment=mnist_bs4nn``)
and train on the same sequence of training images: the platform's 55,000-image training split,
drawn with replacement each epoch by the preset's sampler. One loop is the platform's online
kernel (float32, the preset's path); the other is the literal numpy transcription of
``BS4NN_mnist.ipynb``'s loop (float64, ``tests/helpers/released_updates.py``, checked step by
step in ``tests/snn/test_baseline_steps.py``). Every ``--eval-every`` samples both models are
scored on the 5,000 validation images by the same evaluator, the platform's layer (whose
forward equals the notebook's): ``acc`` and ``acc_ties`` (ties correct, as the notebook
counts). The test set is read once, for both final models. The literal loop costs about 15 ms
a sample on one core, so a run covers a few epochs at most.

Each loop becomes a finished run record ``OUT/<loop>/<seed>/metrics.json`` (experiment
``released_loop_bs4nn_<loop>``; ``val/*`` and ``test/*`` of the final model, and the curves
``curve/samples``, ``curve/val_acc``, ``curve/val_acc_ties`` as lists) for ``bstdg-report``.

    python sweeps/released_loop.py --out logs/tables/released_loop --seed 1 --samples 110000
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path

import numpy as np
import torch
from hydra import compose, initialize_config_dir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the released-code transcription lives with the tests

from bstdg.data.sampler import EpochSeededReplacementSampler  # noqa: E402
from bstdg.lit.test_curve import test_set_accuracy  # noqa: E402
from bstdg.snn.online import online_sgd_steps  # noqa: E402
from bstdg.train import CONFIG_DIR, build  # noqa: E402
from bstdg.utils.metrics_file import write_metrics  # noqa: E402
from bstdg.utils.run_info import run_metadata  # noqa: E402
from helpers import released_updates as R  # noqa: E402

CHUNK = 256  # samples per online kernel call, as the preset's batch


def _arrays(subset) -> tuple[np.ndarray, np.ndarray]:
    x, y = subset[list(range(len(subset)))]
    return np.asarray(x), np.asarray(y)


def sample_order(n_train: int, seed: int, samples: int) -> np.ndarray:
    """The training indices the preset's sampler draws, epoch after epoch, cut at ``samples``."""
    sampler, order, epoch = EpochSeededReplacementSampler(n_train, seed), [], 0
    while sum(len(o) for o in order) < samples:
        sampler.set_epoch(epoch)
        order.append(np.fromiter(iter(sampler), dtype=np.int64))
        epoch += 1
    return np.concatenate(order)[:samples]


@torch.no_grad()
def as_module(st: R.BS4NNState, template):
    """A copy of ``template`` holding the released loop's weights and ``fact``."""
    module = copy.deepcopy(template)
    for layer, w, fact in zip(module.net.layers, (st.W0, st.W1), st.fact, strict=True):
        layer.weight.copy_(torch.from_numpy(w[:, :, 0]))
        layer.fact.fill_(float(fact))
    return module


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", type=int, default=110_000, help="training steps of each")
    parser.add_argument("--eval-every", type=int, default=11_000)
    parser.add_argument("--val-size", type=int, default=None, help="first N validation images")
    parser.add_argument("--data-dir", default=None, help="default: $BSTDG_DATA_DIR")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides of mnist_bs4nn")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    overrides = ["experiment=mnist_bs4nn", f"seed={args.seed}", "logger=none", *args.overrides]
    if args.data_dir:
        overrides.append(f"paths.data_dir={args.data_dir}")
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="train.yaml", overrides=overrides)
    datamodule, module = build(cfg)
    datamodule.setup("fit")
    x_tr, y_tr = _arrays(datamodule.train_set)
    x_val, y_val = _arrays(datamodule.val_set)
    x_val, y_val = x_val[: args.val_size], y_val[: args.val_size]
    t_tr = module.encoder(torch.from_numpy(x_tr))
    order = sample_order(len(y_tr), args.seed, args.samples)

    st = R.BS4NNState(
        W0=module.net.layers[0].weight.detach().double().numpy()[:, :, None].copy(),
        W1=module.net.layers[1].weight.detach().double().numpy()[:, :, None].copy(),
        fact=[float(layer.fact) for layer in module.net.layers],
        lr=tuple(float(cfg.model.optimizer.lr) for _ in range(2)), Tmax=module.T)
    t_tr_np = t_tr.numpy()
    val_batch = [(torch.from_numpy(x_val), torch.from_numpy(y_val))]  # one batch
    opt = cfg.model.optimizer
    curves: dict[str, dict[str, list[float]]] = {
        loop: {"acc": [], "acc_ties": []} for loop in ("platform", "released")}
    seconds = {"platform": 0.0, "released": 0.0}
    marks = list(range(0, args.samples + 1, args.eval_every))
    for lo, hi in zip(marks[:-1], marks[1:], strict=True):
        started = time.time()
        for c in range(lo, hi, CHUNK):
            idx = torch.from_numpy(order[c:min(c + CHUNK, hi)])
            online_sgd_steps(module.net, t_tr[idx], torch.from_numpy(y_tr)[idx],
                             module.loss_fn, opt.lr, opt.weight_decay)
        seconds["platform"] += time.time() - started
        started = time.time()
        for i in order[lo:hi]:
            R.bs4nn_train_sample(st, t_tr_np[i], int(y_tr[i]))
        seconds["released"] += time.time() - started
        models = {"platform": module, "released": as_module(st, module)}
        for loop, model in models.items():
            acc, ties = test_set_accuracy(model, val_batch)
            curves[loop]["acc"].append(acc)
            curves[loop]["acc_ties"].append(ties)
        print(f"{hi} samples: val acc / acc_ties " + ", ".join(
            f"{loop} {100 * c['acc'][-1]:.2f} / {100 * c['acc_ties'][-1]:.2f} %"
            for loop, c in curves.items()), flush=True)
    datamodule.setup("test")
    x_te, y_te = _arrays(datamodule.test_set)
    test_batch = [(torch.from_numpy(x_te), torch.from_numpy(y_te))]
    written = []
    for loop, model in models.items():
        test_acc, test_ties = test_set_accuracy(model, test_batch)
        written.append(write_metrics(args.out / loop / str(args.seed) / "metrics.json", {
            "status": "finished", "experiment": f"released_loop_bs4nn_{loop}",
            "task": "released_loop", "seed": args.seed, "cfg/seed": args.seed,
            "cfg/samples": args.samples, "val/acc": curves[loop]["acc"][-1],
            "val/acc_ties": curves[loop]["acc_ties"][-1], "test/acc": test_acc,
            "test/acc_ties": test_ties, "curve/samples": marks[1:],
            "curve/val_acc": curves[loop]["acc"], "curve/val_acc_ties": curves[loop]["acc_ties"],
            "wall_s": seconds[loop], **run_metadata(),
        }))
    return written


if __name__ == "__main__":
    main()
