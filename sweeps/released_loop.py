"""The released training loop of a baseline beside the platform's, on the same samples and
weights.

Both loops start from the platform's initial weights for ``--seed`` (``experiment=mnist_<b>``,
``b`` = ``--baseline``) and train on the same sequence of training images: the platform's
55,000-image training split, in the order the preset's sampler draws it, epoch after epoch.
One loop is the platform's own step (float32): the online kernel for the per-sample presets
(S4NN, BS4NN), the module's autograd step and SGD for SSTDP's batches of 64. The other is
the literal numpy transcription of the released code's step (``tests/helpers/
released_updates.py``, checked step by step in ``tests/snn/test_baseline_steps.py``):
``BS4NN_mnist.ipynb`` (float64), ``S4NN.py`` (float64), ``sstdp_train.py`` (float32). At each
epoch end both revive their dead hidden neurons by the preset's rule (S4NN, SSTDP), from the
same draws. Every ``--eval-every`` samples both models are scored on the 5,000 validation
images by the same evaluator, the platform's layer: ``acc`` and ``acc_ties`` (ties correct).
The test set is read once, for both final models. The released loops cost about 15 ms
(BS4NN), 7 ms (S4NN) and 20 ms (SSTDP) a sample on one core, so a run covers a few epochs.

Each loop becomes a finished run record ``OUT/<loop>/<seed>/metrics.json``
(experiment ``released_loop_<baseline>_<loop>``; ``val/*`` and ``test/*`` of the final model,
and the curves ``curve/samples``, ``curve/val_acc``, ``curve/val_acc_ties`` as lists).

    python sweeps/released_loop.py --baseline bs4nn --out logs/tables/released_loop/bs4nn \\
        --seed 1 --samples 66000 --eval-every 11000
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from hydra import compose, initialize_config_dir

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))  # the released-code transcription lives with the tests

from bstdg.data.sampler import training_sampler  # noqa: E402
from bstdg.lit.test_curve import test_set_accuracy  # noqa: E402
from bstdg.snn.online import online_sgd_steps  # noqa: E402
from bstdg.train import CONFIG_DIR, build  # noqa: E402
from bstdg.utils.metrics_file import write_metrics  # noqa: E402
from bstdg.utils.run_info import run_metadata  # noqa: E402
from helpers import released_updates as R  # noqa: E402

BASELINES = ("bs4nn", "s4nn", "sstdp")
CHUNK = 256  # samples per online kernel call, as the presets' batch


def _arrays(subset) -> tuple[np.ndarray, np.ndarray]:
    x, y = subset[list(range(len(subset)))]
    return np.asarray(x), np.asarray(y)


def epoch_orders(sampling: str, n_train: int, seed: int, samples: int,
                 batch: int = 1) -> list[np.ndarray]:
    """The training indices the preset's sampler draws, one array per epoch (each cut to
    whole batches of ``batch``, as ``drop_last``), until ``samples`` are drawn: the last array
    stops at ``samples``, so it may end in a partial batch."""
    sampler, orders, epoch, drawn = training_sampler(sampling, n_train, seed), [], 0, 0
    while drawn < samples:
        if sampler is None:
            order = np.arange(n_train)
        else:
            sampler.set_epoch(epoch)
            order = np.fromiter(iter(sampler), dtype=np.int64)
        order = order[: len(order) // batch * batch][: samples - drawn]
        orders.append(order)
        drawn, epoch = drawn + len(order), epoch + 1
    return orders


def sample_order(n_train: int, seed: int, samples: int) -> np.ndarray:
    """BS4NN's draws (with replacement) as one array of ``samples`` indices."""
    return np.concatenate(epoch_orders("replacement", n_train, seed, samples))


@dataclass
class Loops:
    """The two models of one comparison and the released loop's state."""

    baseline: str
    cfg: Any
    platform: Any  # the platform's SpikingClassifier
    released: Any  # the transcription's state
    optimizer: torch.optim.Optimizer | None = None
    fired: dict[str, torch.Tensor] = field(default_factory=dict)

    @classmethod
    def start(cls, baseline: str, cfg: Any, module: Any) -> Loops:
        revival = cfg.get("callbacks", {}).get("dead_neuron_revival")
        if len(module.net.layers) != 2 or (revival is not None and (
                baseline == "bs4nn" or revival.get("mode", "incoming") != "incoming")):
            raise SystemExit(
                "the released loops are one-hidden-layer nets whose dead-neuron revival (S4NN, "
                "SSTDP) re-draws incoming weights only: keep model.net.hidden one layer and "
                "callbacks.dead_neuron_revival.mode=incoming (null for bs4nn)")
        w = [layer.weight.detach().numpy() for layer in module.net.layers]
        opt = cfg.model.optimizer
        if baseline == "bs4nn":
            state = R.BS4NNState(W0=w[0].astype(np.float64)[:, :, None].copy(),
                                 W1=w[1].astype(np.float64)[:, :, None].copy(),
                                 fact=[float(layer.fact) for layer in module.net.layers],
                                 lr=(float(opt.lr),) * 2, Tmax=module.T)
            return cls(baseline, cfg, module, state)
        if baseline == "s4nn":
            state = R.S4NNState(W=[a.astype(np.float64)[:, :, None].copy() for a in w],
                                lr=(float(opt.lr),) * 2, lamda=(float(opt.weight_decay),) * 2,
                                tmax=module.T, gamma=int(cfg.loss.gamma))
            return cls(baseline, cfg, module, state)
        sgd = torch.optim.SGD([p for p in module.parameters() if p.requires_grad],
                              lr=float(opt.lr), weight_decay=float(opt.weight_decay))
        return cls(baseline, cfg, module, [a.astype(np.float32).copy() for a in w], sgd)

    def train_platform(self, t: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The platform's steps on the samples ``t`` (times) and ``y``; hidden fire counts."""
        module, opt = self.platform, self.cfg.model.optimizer
        if self.optimizer is None:
            fired = torch.zeros(module.net.layers[0].out_features)
            for c in range(0, len(y), CHUNK):
                rec = online_sgd_steps(module.net, t[c:c + CHUNK], y[c:c + CHUNK],
                                       module.loss_fn, opt.lr, opt.weight_decay)
                fired += (rec.times[0] < module.T).sum(0)
            return fired
        batch, fired = int(self.cfg.data.batch_size), 0
        for c in range(0, len(y), batch):
            out = module.net(t[c:c + batch])
            loss = module.loss_fn(out.out_times, y[c:c + batch], module.T)
            self.optimizer.zero_grad()
            loss.backward()
            self.optimizer.step()
            module.net.after_optimizer_step_()
            fired = fired + (out.hidden_times[0].detach() < module.T).sum(0)
        return fired

    def train_released(self, t: np.ndarray, y: np.ndarray) -> torch.Tensor:
        """The transcription's steps on the same samples; hidden fire counts."""
        st, T = self.released, self.platform.T
        if self.baseline == "bs4nn":
            hidden = [R.bs4nn_train_sample(st, t[i], int(y[i]))["hidden"] for i in range(len(y))]
            return torch.from_numpy(np.stack(hidden) < T).sum(0)
        if self.baseline == "s4nn":
            ti = t.astype(np.int64)
            hidden = [R.s4nn_train_sample(st, ti[i][:, None], int(y[i]))["hidden"]
                      for i in range(len(y))]
            return torch.from_numpy(np.stack(hidden) < T).sum(0)
        batch, fired = int(self.cfg.data.batch_size), 0
        threshold = float(self.platform.net.layers[0].threshold.flatten()[0])
        opt = self.cfg.model.optimizer
        for c in range(0, len(y), batch):
            got = R.sstdp_train_batch(st, t[c:c + batch], y[c:c + batch], t_max=T,
                                      threshold=threshold, delta=int(self.cfg.loss.gamma),
                                      lr=float(opt.lr), weight_decay=float(opt.weight_decay))
            fired = fired + torch.from_numpy((got["hidden"] < T).sum(0))
        return fired

    def revive(self, fired: dict[str, torch.Tensor], n: int, seed: int) -> None:
        """The preset's dead-neuron revival at an epoch end, in both loops, from the same
        draws: hidden neurons that fired on fewer than ``min_rate`` of the ``n`` samples get
        fresh incoming weights."""
        revival = self.cfg.get("callbacks", {}).get("dead_neuron_revival")
        if revival is None:
            return
        layer = self.platform.net.layers[0]
        for loop, counts in fired.items():
            dead = counts < float(revival.min_rate) * n
            torch.manual_seed(seed)
            if loop == "platform":
                layer.reinit_neurons_(dead)
                continue
            w = self.released.W[0][:, :, 0] if self.baseline == "s4nn" else self.released[0]
            w[dead.numpy()] = layer.draw_incoming(int(dead.sum())).numpy().astype(w.dtype)

    @torch.no_grad()
    def released_module(self) -> Any:
        """A copy of the platform's module holding the released loop's weights (and fact)."""
        module = copy.deepcopy(self.platform)
        st = self.released
        weights = {"bs4nn": lambda: (st.W0[:, :, 0], st.W1[:, :, 0]),
                   "s4nn": lambda: (st.W[0][:, :, 0], st.W[1][:, :, 0]),
                   "sstdp": lambda: tuple(st)}[self.baseline]()
        for k, (layer, w) in enumerate(zip(module.net.layers, weights, strict=True)):
            layer.weight.copy_(torch.from_numpy(np.ascontiguousarray(w)))
            if self.baseline == "bs4nn":
                layer.fact.fill_(float(st.fact[k]))
        return module


def main(argv: list[str] | None = None) -> list[Path]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", choices=BASELINES, default="bs4nn")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--samples", type=int, default=110_000, help="training samples of each")
    parser.add_argument("--eval-every", type=int, default=11_000)
    parser.add_argument("--val-size", type=int, default=None, help="first N validation images")
    parser.add_argument("--data-dir", default=None, help="default: $BSTDG_DATA_DIR")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides of the preset")
    args = parser.parse_args(argv)
    if args.samples < 1 or args.eval_every < 1:
        parser.error("--samples and --eval-every must be >= 1")
    torch.set_num_threads(1)
    overrides = [f"experiment=mnist_{args.baseline}", f"seed={args.seed}", "logger=none",
                 *args.overrides]
    if args.data_dir:
        overrides.append(f"paths.data_dir={args.data_dir}")
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="train.yaml", overrides=overrides)
    batch = 1 if cfg.model.get("online") else int(cfg.data.batch_size)
    if args.eval_every % batch:
        parser.error(f"--eval-every {args.eval_every} must be a multiple of the {args.baseline} "
                     f"batch ({batch} samples)")
    datamodule, module = build(cfg)
    datamodule.setup("fit")
    x_tr, y_tr = _arrays(datamodule.train_set)
    x_val, y_val = _arrays(datamodule.val_set)
    x_val, y_val = x_val[: args.val_size], y_val[: args.val_size]
    with torch.no_grad():
        t_tr = module.encoder(torch.from_numpy(x_tr))
    t_tr_np, y_tr_t = t_tr.numpy(), torch.from_numpy(y_tr)
    orders = epoch_orders(cfg.data.sampling, len(y_tr), args.seed, args.samples, batch)
    loops = Loops.start(args.baseline, cfg, module)

    val_batch = [(torch.from_numpy(x_val), torch.from_numpy(y_val))]  # one batch
    curves: dict[str, dict[str, list[float]]] = {
        loop: {"acc": [], "acc_ties": []} for loop in ("platform", "released")}
    seconds = {"platform": 0.0, "released": 0.0}
    done, marks = 0, []
    for epoch, order in enumerate(orders):
        first = (done // args.eval_every + 1) * args.eval_every - done  # next eval mark
        cuts = sorted({*range(first, len(order) + 1, args.eval_every), len(order)})
        fired = {"platform": 0, "released": 0}
        lo, last_epoch = 0, epoch == len(orders) - 1
        for hi in cuts:
            idx = order[lo:hi]
            started = time.time()
            fired["platform"] = fired["platform"] + loops.train_platform(t_tr[idx], y_tr_t[idx])
            seconds["platform"] += time.time() - started
            started = time.time()
            fired["released"] = fired["released"] + loops.train_released(t_tr_np[idx], y_tr[idx])
            seconds["released"] += time.time() - started
            lo = hi
            if hi == len(order) and not last_epoch:
                loops.revive(fired, len(order), args.seed * 1000 + epoch)
            last = last_epoch and hi == len(order)
            if (done + hi) % args.eval_every == 0 or last:
                marks.append(done + hi)
                models = {"platform": loops.platform, "released": loops.released_module()}
                for loop, model in models.items():
                    acc, ties = test_set_accuracy(model, val_batch)
                    curves[loop]["acc"].append(acc)
                    curves[loop]["acc_ties"].append(ties)
                print(f"{done + hi} samples: val acc / acc_ties " + ", ".join(
                    f"{loop} {100 * c['acc'][-1]:.2f} / {100 * c['acc_ties'][-1]:.2f} %"
                    for loop, c in curves.items()), flush=True)
        done += len(order)
    datamodule.setup("test")
    x_te, y_te = _arrays(datamodule.test_set)
    test_batch = [(torch.from_numpy(x_te), torch.from_numpy(y_te))]
    written = []
    for loop, model in models.items():
        test_acc, test_ties = test_set_accuracy(model, test_batch)
        written.append(write_metrics(
            args.out / loop / str(args.seed) / "metrics.json", {
                "status": "finished", "experiment": f"released_loop_{args.baseline}_{loop}",
                "task": "released_loop", "seed": args.seed, "cfg/seed": args.seed,
                "cfg/samples": done, "val/acc": curves[loop]["acc"][-1],
                "val/acc_ties": curves[loop]["acc_ties"][-1], "test/acc": test_acc,
                "test/acc_ties": test_ties, "curve/samples": marks,
                "curve/val_acc": curves[loop]["acc"],
                "curve/val_acc_ties": curves[loop]["acc_ties"],
                "wall_s": seconds[loop], **run_metadata(),
            }))
    return written


if __name__ == "__main__":
    main()
