"""Callbacks: subnormal flushing, heap reuse, weight averaging, training throughput,
inference timing, checkpoints, per-sample test results. W&B media: :mod:`bstdg.tracking`;
training policies: :mod:`bstdg.lit.policies`."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.callbacks import EMAWeightAveraging, ModelCheckpoint
from pytorch_lightning.trainer.states import TrainerFn
from pytorch_lightning.utilities import rank_zero_only

from bstdg.utils.heap import MMAP_THRESHOLD, TRIM_THRESHOLD, keep_freed_memory
from bstdg.utils.metrics_file import TEST_SAMPLES_FILE


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class FlushDenormals(pl.Callback):
    """Flush subnormal floats to zero (x86 FTZ/DAZ) on the CPU while the Trainer runs.

    Adam's moments decay as m <- beta1 * m wherever a weight's gradient is zero (inputs that
    rarely spike), so they sink through the subnormal range (|x| < 1.2e-38), where each float
    operation is slower by an order of magnitude: after 30 MNIST epochs of ``mnist_bstdg`` a
    third of the hidden layer's ``exp_avg`` was subnormal and one fused Adam step took 16 ms
    instead of 3 ms. Flushed, such a moment is 0; its update step was below 1e-30 anyway, and
    no spike time, threshold or loss value is subnormal.

    The mode is per thread. It is set in ``setup`` on the thread that trains, and threads
    started later inherit it; intra-op threads that torch started before (with
    ``torch.get_num_threads() > 1``) keep subnormals, so part of a multi-threaded elementwise
    update stays slow (the sweeps run one thread per job). It is switched off again in
    ``teardown`` and when fit raises.
    """

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        torch.set_flush_denormal(True)

    def teardown(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        torch.set_flush_denormal(False)

    def on_exception(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                     exception: BaseException) -> None:
        torch.set_flush_denormal(False)


class ReuseFreedMemory(pl.Callback):
    """Keep freed heap memory for reuse while training (glibc; :mod:`bstdg.utils.heap`).

    Every training step frees and reallocates buffers of the weights' size (the gradient
    autograd hands to the optimiser, fused Adam's temporaries). With glibc's defaults the
    larger ones went back to the kernel and came back as fresh pages: 460-880 minor page
    faults per ``mnist_bstdg`` step (784-600-10, batch 32), none with this callback. The
    setting is process-wide and stays after ``fit`` (glibc has no way back to its adaptive
    mode); on another C library the callback does nothing (``applied`` stays False).
    """

    def __init__(self, mmap_threshold: int = MMAP_THRESHOLD,
                 trim_threshold: int = TRIM_THRESHOLD) -> None:
        self.mmap_threshold = mmap_threshold
        self.trim_threshold = trim_threshold
        self.applied = False

    def setup(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str) -> None:
        self.applied = keep_freed_memory(self.mmap_threshold, self.trim_threshold)


class AveragedWeights(EMAWeightAveraging):
    """Lightning's exponential moving average of the weights, tested on the average.

    Every ``update_every_n_steps`` optimiser steps, w_avg <- decay * w_avg + (1 - decay) * w;
    validation and the saved checkpoints see w_avg (for binarized layers its sign decides
    each forward weight), training steps w. Lightning's callback puts the raw weights back
    whenever a checkpoint is loaded while it holds an average, which made ``bstdg-train``'s
    test of the best checkpoint (same Trainer, after fit) use the raw weights where
    ``bstdg-eval`` used the averaged ones; here the raw weights come back only to resume fit.
    """

    def on_load_checkpoint(self, trainer: pl.Trainer, pl_module: pl.LightningModule,
                           checkpoint: dict[str, Any]) -> None:
        if trainer.state.fn == TrainerFn.FITTING:
            super().on_load_checkpoint(trainer, pl_module, checkpoint)


class ThroughputMonitor(pl.Callback):
    """Logs ``time/epoch_s`` and ``time/train_samples_per_s`` for every training epoch.

    Nothing is logged for an epoch whose start it did not see: a run resumed from a
    checkpoint written after validation ends that epoch without starting it again.
    """

    def __init__(self) -> None:
        self._start: float | None = None
        self._samples = 0

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        _sync(pl_module.device)
        self._start, self._samples = time.perf_counter(), 0

    def on_train_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
    ) -> None:
        self._samples += int(batch[1].shape[0])

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if self._start is None or self._samples == 0:
            return
        _sync(pl_module.device)
        elapsed = time.perf_counter() - self._start
        self._start = None
        pl_module.log("time/epoch_s", elapsed)
        pl_module.log("time/train_samples_per_s", self._samples / max(elapsed, 1e-9))


class InferenceTimer(pl.Callback):
    """Times inference (encode + forward + decision) on test samples.

    Logs ``time/infer_us_per_sample`` (full window: every layer simulated to T) and, for
    modules with ``predict_early_exit``, ``time/infer_early_exit_us_per_sample`` (each
    sample stopped at its first output spike): median over ``repeats`` timed passes over up to
    ``max_samples`` test samples in batches of ``batch_size`` (independent of the loader's
    batch size, so the figure measures the network rather than per-batch overhead), after
    ``warmup`` untimed passes of one batch; CUDA is synchronised.
    """

    def __init__(self, max_samples: int = 8192, batch_size: int = 1024, warmup: int = 1,
                 repeats: int = 3) -> None:
        if max_samples < 1 or batch_size < 1 or warmup < 0 or repeats < 1:
            raise ValueError("InferenceTimer needs max_samples >= 1, batch_size >= 1, "
                             "warmup >= 0, repeats >= 1")
        self.max_samples, self.batch_size = max_samples, batch_size
        self.warmup, self.repeats = warmup, repeats

    def _batches(self, loader: Any, device: torch.device) -> list[torch.Tensor]:
        """Up to max_samples test inputs in batches of batch_size; the loader's own batches
        when their shapes differ (SHD pads each batch to its longest event list)."""
        xs, n = [], 0
        for x, _ in loader:
            xs.append(x[: self.max_samples - n])
            n += int(xs[-1].shape[0])
            if n >= self.max_samples:
                break
        if len({tuple(x.shape[1:]) for x in xs}) > 1:
            return [x.to(device) for x in xs]
        return list(torch.split(torch.cat(xs).to(device), self.batch_size)) if xs else []

    def _median_s(self, fn: Any, batches: list[torch.Tensor], device: torch.device) -> float:
        for _ in range(self.warmup):
            fn(batches[0])
        timings = []
        for _ in range(self.repeats):
            _sync(device)
            start = time.perf_counter()
            for xb in batches:
                fn(xb)
            _sync(device)
            timings.append(time.perf_counter() - start)
        return sorted(timings)[len(timings) // 2]

    @torch.no_grad()
    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loader = first_test_loader(trainer)
        device = pl_module.device
        batches = [] if loader is None else self._batches(loader, device)
        n = sum(int(x.shape[0]) for x in batches)
        if not n:
            return
        full = self._median_s(lambda xb: pl_module.predict_step((xb,), 0), batches, device)
        pl_module.log("time/infer_us_per_sample", 1e6 * full / n)
        early = getattr(pl_module, "predict_early_exit", None)
        if early is not None:
            pl_module.log("time/infer_early_exit_us_per_sample",
                          1e6 * self._median_s(early, batches, device) / n)


class ResumableModelCheckpoint(ModelCheckpoint):
    """ModelCheckpoint that saves the model it validated, keeps ``last.ckpt`` at the last
    epoch, and keeps the best score when a run resumes into a new run dir.

    * Saved at the end of validation whenever the run validates (``save_on_train_epoch_end``
      unset; without validation batches, at the end of the training epoch). Lightning would
      save at the end of the training epoch, after dead-neuron revival
      (:class:`~bstdg.lit.policies.DeadNeuronRevival`) re-draws weights: the "best"
      checkpoint then held re-drawn neurons the validation never saw.
    * ``last.ckpt`` is written at every save point, and at the end of an epoch that saved
      nothing (no validation that epoch). Lightning >= 2.6 writes it only when a top-k
      checkpoint is written, so it stayed at the best epoch. (``save_last="link"`` keeps
      Lightning's behaviour: a link to the latest top-k checkpoint.)
    * Lightning drops ``best_model_score`` when the checkpoint directory changed (every
      Hydra run has its own), so a resumed run would elect a worse epoch as "best"; here
      the score, path and top-k record of the earlier run are kept.
    """

    def _should_save_on_train_epoch_end(self, trainer: pl.Trainer) -> bool:
        if self._save_on_train_epoch_end is not None:
            return self._save_on_train_epoch_end
        batches = trainer.num_val_batches
        if isinstance(batches, list) and not batches:  # validation loader not loaded yet
            return trainer.limit_val_batches == 0
        return sum(batches) == 0 if isinstance(batches, list) else batches == 0

    def on_validation_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_validation_end(trainer, pl_module)
        if not self._should_save_on_train_epoch_end(trainer):
            self._save_last_if_missed(trainer)

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        super().on_train_epoch_end(trainer, pl_module)
        # also an epoch without validation (check_val_every_n_epoch > 1): nothing was saved
        # at this step yet, and last.ckpt must still reach the last epoch
        self._save_last_if_missed(trainer)

    def _save_last_if_missed(self, trainer: pl.Trainer) -> None:
        """Write ``last.ckpt`` now if nothing was saved at this step."""
        if self.save_last is not True or self._should_skip_saving_checkpoint(trainer):
            return
        self._save_last_checkpoint(trainer, self._monitor_candidates(trainer))

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.best_model_score = state_dict.get("best_model_score", self.best_model_score)
        self.kth_best_model_path = state_dict.get("kth_best_model_path", "")
        self.kth_value = state_dict.get("kth_value", self.kth_value)
        self.best_k_models = dict(state_dict.get("best_k_models", {}))


PER_SAMPLE_COLUMNS = ("label", "pred", "decision_time", "hidden_spikes",
                      "hidden_spikes_before_decision")


@torch.no_grad()
def per_sample_columns(pl_module: Any, loader: Any) -> dict[str, np.ndarray]:
    """One forward pass over ``loader``: per sample, ``label``, ``pred`` (the module's
    decision), ``decision_time`` (first output spike step, T if none), ``hidden_spikes`` and
    ``hidden_spikes_before_decision``; {} for an empty loader."""
    from bstdg.snn.readout import decide
    from bstdg.snn.spike_stats import spike_statistics

    T = int(pl_module.T)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in PER_SAMPLE_COLUMNS}
    for x, y in loader:
        x, y = x.to(pl_module.device), y.to(pl_module.device)
        t_in = pl_module.encoder(x)
        out = pl_module.net(t_in)
        stats = spike_statistics(t_in, out, T, pl_module.net.fan_outs())
        pred = decide(out.out_times, out.v_fire, out.v_end, T, pl_module.fallback)
        values = {"label": y, "pred": pred, **{k: stats[k] for k in PER_SAMPLE_COLUMNS[2:]}}
        for name, value in values.items():
            columns[name].append(value.cpu().numpy())
    if not columns["label"]:
        return {}
    return {k: np.concatenate(v) for k, v in columns.items()}


def first_test_loader(trainer: pl.Trainer) -> Any:
    """The (first) test DataLoader of ``trainer``, or None."""
    loaders = trainer.test_dataloaders
    return loaders[0] if isinstance(loaders, (list, tuple)) else loaders


class PerSampleResults(pl.Callback):
    """Writes per-sample test results to ``<default_root_dir>/test_samples.npz``, for
    distributions that epoch means hide (decision-time histograms in ``bstdg-report``).

    Arrays, one entry per test sample: see :func:`per_sample_columns`; scalar ``T``. One
    extra forward pass over the test set after the test epoch (rank zero only), written
    atomically. The arrays stay in ``results`` for other callbacks (W&B media).
    """

    def __init__(self) -> None:
        self.results: dict[str, np.ndarray] = {}

    def on_test_epoch_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.results = {}

    @rank_zero_only
    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        loader = first_test_loader(trainer)
        if loader is None or not hasattr(pl_module, "encoder"):
            return
        self.results = per_sample_columns(pl_module, loader)
        if not self.results:
            return
        path = Path(trainer.default_root_dir) / TEST_SAMPLES_FILE
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.tmp.npz")
        np.savez_compressed(tmp, T=int(pl_module.T), **self.results)
        os.replace(tmp, path)
