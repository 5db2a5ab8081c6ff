"""One BS4NN epoch by online SGD (``bstdg.snn.online``) against the batch-1 Lightning path.

Both sides train the ``mnist_bs4nn`` experiment's model (784-600-10, T = 256, from its
config) on the same uint8 images, on this process's threads (``--threads 1``: one):

* **online**: encode a chunk of ``chunk`` samples and train on it with
  ``online_sgd_steps`` (one SGD step per sample), chunk after chunk, as
  ``model.online=true`` does per batch; each repeat starts from the same initial weights;
* **batch-1 path**: ``Trainer.fit`` of the experiment with ``data.batch_size=1``
  (``bench.lightning.measure_loop``: the experiment's trainer and per-step callbacks,
  validation off), the way the experiment trains today.

Each side times a part of the epoch (``samples`` and ``batch1_samples`` samples) and is
scaled to the 55k-sample epoch (``EPOCH_SAMPLES``): epoch_s = median seconds per sample x
55000. ``online_vs_batch1_epoch_ratio`` = batch-1 epoch_s / online epoch_s.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from typing import Any

import numpy as np
import torch

from bstdg.bench.lightning import compose_experiment, measure_loop
from bstdg.bench.timing import summarize
from bstdg.snn.online import online_sgd_steps

EXPERIMENT = "mnist_bs4nn"
EPOCH_SAMPLES = 55000  # the 60k training images less the 5k validation split


def _online_pass(model: Any, x: torch.Tensor, y: torch.Tensor, chunk: int, lr: float,
                 weight_decay: float) -> float:
    """Seconds to train ``model`` on every sample of ``x`` in chunks of ``chunk``."""
    start = time.perf_counter()
    for lo in range(0, len(x), chunk):
        t_in = model.encoder(x[lo:lo + chunk])
        online_sgd_steps(model.net, t_in, y[lo:lo + chunk], model.loss_fn, lr, weight_decay)
    return time.perf_counter() - start


def measure_online(x_u8: np.ndarray, y: np.ndarray, samples: int, batch1_samples: int,
                   repeats: int = 3, chunk: int = 256,
                   experiment: str = EXPERIMENT) -> dict[str, Any]:
    """Epoch seconds of the online path and of the batch-1 Lightning path (see module)."""
    from bstdg.loading import build_model

    if len(x_u8) < max(samples, batch1_samples):
        raise ValueError(f"--baselines needs {max(samples, batch1_samples)} samples, "
                         f"got {len(x_u8)}")
    with tempfile.TemporaryDirectory() as out_dir:
        cfg = compose_experiment(experiment, [], out_dir)
        torch.manual_seed(int(cfg.seed))
        initial = build_model(cfg, x_u8.shape[1], int(y.max()) + 1)
    lr = float(cfg.model.optimizer.lr)
    weight_decay = float(cfg.model.optimizer.weight_decay)
    x, labels = torch.from_numpy(x_u8[:samples]), torch.from_numpy(y[:samples])
    _online_pass(copy.deepcopy(initial), x[:chunk], labels[:chunk], chunk, lr,
                 weight_decay)  # warm-up: the numba cache
    online = [_online_pass(copy.deepcopy(initial), x, labels, chunk, lr, weight_decay) / samples
              for _ in range(repeats)]
    loop = measure_loop(x_u8, y, batch=1, n_batches=batch1_samples, repeats=repeats,
                        experiment=experiment)
    batch1 = [1.0 / rate for rate in loop["lightning_train_samples_per_s"]["values"]]
    online_epoch = statistics.median(online) * EPOCH_SAMPLES
    batch1_epoch = statistics.median(batch1) * EPOCH_SAMPLES
    return {
        "experiment": experiment,
        "threads": torch.get_num_threads(),
        "epoch_samples": EPOCH_SAMPLES,
        "online_samples_timed": samples,
        "online_chunk": chunk,
        "batch1_samples_timed": batch1_samples,
        "repeats": repeats,
        "online_s_per_sample": summarize(online),
        "batch1_s_per_sample": summarize(batch1),
        "batch1_bare_step_samples_per_s": loop["bare_step_train_samples_per_s"],
        "online_bs4nn_epoch_s": online_epoch,
        "batch1_bs4nn_epoch_s": batch1_epoch,
        "online_vs_batch1_epoch_ratio": batch1_epoch / online_epoch,
        "note": (f"epoch times scaled from {samples} (online) and {batch1_samples} (batch-1 "
                 f"Lightning) timed samples to the {EPOCH_SAMPLES}-sample epoch"),
    }
