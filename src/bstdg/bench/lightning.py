"""The Lightning training loop against the bare training step of the same model, one process.

Both sides train the experiment's model (``experiment=mnist_bstdg`` by default: encoder,
network, loss, optimiser and scheduler from its config) on the same uint8 batches:

* **bare step**: slice the in-memory batch, encode, forward, loss, backward, optimiser and
  scheduler step, the net's post-step constraints; nothing else.
* **Lightning**: ``Trainer.fit`` with the experiment's trainer and per-step callbacks, a
  DataLoader like the DataModule's, every per-step metric of ``SpikingClassifier``;
  validation off. Each epoch of ``n_batches`` batches is timed from its first batch's start
  to its last batch's end (per-epoch work such as the epoch means is excluded).

The bare step is timed between the Lightning epochs (one callback runs it), so that both
see the same machine load, and under the same callbacks' settings (``FlushDenormals``).
``start_from`` (a training checkpoint) starts both from its weights and optimiser state:
the speed of a late epoch, whose optimiser state a fresh model does not have.
``lightning_vs_kernel_train_ratio`` = median Lightning samples/s
over median bare-step samples/s.
"""

from __future__ import annotations

import copy
import statistics
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf, open_dict

from bstdg.bench.timing import summarize

EXPERIMENT = "mnist_bstdg"
LOOP_BATCH = 32
# callbacks that monitor validation metrics or write files: not part of a training step
OFF_CALLBACKS = ("model_checkpoint", "early_stopping", "model_summary", "inference_timer",
                 "test_samples")


def compose_experiment(experiment: str, overrides: Sequence[str], out_dir: str) -> DictConfig:
    """The train config of ``experiment`` with ``overrides``, writing under ``out_dir``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    from bstdg.config_defaults import register_net_defaults
    from bstdg.utils.task import CONFIG_DIR

    register_net_defaults()
    GlobalHydra.instance().clear()
    with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
        cfg = compose(config_name="train.yaml",
                      overrides=[f"experiment={experiment}", "logger=none", *overrides])
    with open_dict(cfg):
        cfg.paths.output_dir = out_dir
        cfg.paths.log_dir = out_dir
    GlobalHydra.instance().clear()
    return cfg


class BareStep:
    """One optimiser step of ``model`` without Lightning (the work every training step needs);
    the scheduler advances every step, spanning ``total_steps``."""

    def __init__(self, model: Any, total_steps: int) -> None:
        self.model = model
        self.optimizer, self.scheduler = model.optimizer_and_scheduler(lambda: total_steps)

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> None:
        model = self.model
        out = model.net(model.encoder(x))
        loss = model.loss_fn(out.out_times, y, model.T)
        self.optimizer.zero_grad(set_to_none=True)
        loss.backward()
        self.optimizer.step()
        if self.scheduler is not None:
            self.scheduler.step()
        model.net.after_optimizer_step_()


class _InterleavedTimer(pl.Callback):
    """Times each Lightning epoch's batches, then the bare step over as many batches."""

    def __init__(self, bare: BareStep, x: torch.Tensor, y: torch.Tensor, batch: int,
                 n_batches: int) -> None:
        self.bare, self.x, self.y = bare, x, y
        self.batch, self.n_batches = batch, n_batches
        self.lightning_s: list[float] = []
        self.bare_s: list[float] = []
        self._start = 0.0

    def on_train_batch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                             batch: Any, batch_idx: int) -> None:
        if batch_idx == 0:
            self._start = time.perf_counter()

    def on_train_epoch_end(self, trainer: pl.Trainer, *_: Any) -> None:
        elapsed = time.perf_counter() - self._start
        if trainer.current_epoch == 0:  # warm-up: numba cache load, allocator
            self._bare_pass()
            return
        self.lightning_s.append(elapsed)
        self.bare_s.append(self._bare_pass())

    def _bare_pass(self) -> float:
        start = time.perf_counter()
        for k in range(self.n_batches):
            lo = k * self.batch
            self.bare(self.x[lo:lo + self.batch], self.y[lo:lo + self.batch])
        return time.perf_counter() - start


class _OptimizerStateFrom(pl.Callback):
    """Loads a checkpoint's optimiser state into the Lightning optimiser when training starts."""

    def __init__(self, state: dict[str, Any]) -> None:
        self.state = state

    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        trainer.optimizers[0].load_state_dict(copy.deepcopy(self.state))


def _training_state(path: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(model state_dict, first optimiser state) of a training checkpoint."""
    from bstdg.utils.checkpoint import read_checkpoint

    checkpoint = read_checkpoint(path)
    states = checkpoint.get("optimizer_states") or []
    if not states:
        raise ValueError(f"checkpoint {path} holds no optimiser state (saved by bstdg-eval or "
                         "with save_weights_only?); pass a training checkpoint such as "
                         "<run dir>/checkpoints/last.ckpt")
    # callbacks=ema checkpoints keep the averaged weights in state_dict and the trained ones,
    # which the optimiser state belongs to, in current_model_state
    return checkpoint.get("current_model_state", checkpoint["state_dict"]), states[0]


def measure_loop(x_u8: np.ndarray, y: np.ndarray, batch: int = LOOP_BATCH, n_batches: int = 200,
                 repeats: int = 3, experiment: str = EXPERIMENT,
                 overrides: Sequence[str] = (), start_from: str | None = None) -> dict[str, Any]:
    """Samples/s of the Lightning loop and of the bare step, and their ratio (see module)."""
    from torch.utils.data import DataLoader

    from bstdg.data.base import ArrayDataset, collate_batch
    from bstdg.data.sampler import training_sampler
    from bstdg.loading import build_model
    from bstdg.utils.instantiate import instantiate_callbacks

    n = batch * n_batches
    if len(x_u8) < n:
        raise ValueError(f"--lightning needs {n} samples (batch {batch} x {n_batches} batches), "
                         f"got {len(x_u8)}")
    with tempfile.TemporaryDirectory() as out_dir:
        cfg = compose_experiment(experiment, [f"data.batch_size={batch}", *overrides], out_dir)
        pl.seed_everything(int(cfg.seed), verbose=False)
        model = build_model(cfg, x_u8.shape[1], int(y.max()) + 1)
        extra: list[pl.Callback] = []
        if start_from is not None:
            weights, optimizer_state = _training_state(start_from)
            model.load_state_dict(weights)
            extra.append(_OptimizerStateFrom(optimizer_state))
        bare_model = copy.deepcopy(model)
        dataset = ArrayDataset(x_u8[:n], y[:n])
        x, labels = dataset.x, dataset.y
        loader = DataLoader(dataset, batch_size=batch,
                            sampler=training_sampler("permutation", n, int(cfg.seed)),
                            num_workers=0, collate_fn=collate_batch)
        with open_dict(cfg):
            for name in OFF_CALLBACKS:
                cfg.callbacks.pop(name, None)
        callbacks = instantiate_callbacks(cfg.get("callbacks"))
        trainer_cfg = OmegaConf.to_container(cfg.trainer, resolve=True)
        trainer_cfg.pop("_target_", None)
        trainer_cfg.update(max_epochs=1 + repeats, min_epochs=1, limit_train_batches=n_batches,
                           limit_val_batches=0, num_sanity_val_steps=0, logger=False,
                           enable_checkpointing=False, enable_progress_bar=False,
                           enable_model_summary=False)
        bare = BareStep(bare_model, (1 + repeats) * n_batches)
        if start_from is not None:
            bare.optimizer.load_state_dict(copy.deepcopy(optimizer_state))
        timer = _InterleavedTimer(bare, x, labels, batch, n_batches)
        trainer = pl.Trainer(**trainer_cfg, callbacks=[*callbacks, *extra, timer])
        trainer.fit(model, train_dataloaders=loader)
    lightning = [n / s for s in timer.lightning_s]
    kernel = [n / s for s in timer.bare_s]
    return {
        "experiment": experiment,
        "overrides": list(overrides),
        "start_from": start_from,
        "batch_size": batch,
        "batches_per_repeat": n_batches,
        "repeats": repeats,
        "lightning_train_samples_per_s": summarize(lightning),
        "bare_step_train_samples_per_s": summarize(kernel),
        "lightning_vs_kernel_train_ratio": statistics.median(lightning) / statistics.median(kernel),
        "per_repeat_ratios": [a / b for a, b in zip(lightning, kernel, strict=True)],
        "method": __doc__.strip().splitlines()[0] if __doc__ else "",
    }
