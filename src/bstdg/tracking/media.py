"""W&B media of a run: spike rasters, firing-rate and decision-time histograms, the test
confusion matrix and a table of the final test metrics.

Keys (all on the ``epoch`` axis; ``<layer>`` is ``input``, ``layer1``, ... the last being
the output layer)::

    media/{val,test}/raster/<layer>          image: spike rasters of a few samples
    media/{train,val,test}/firing_rate/<layer>  histogram: per hidden neuron, the share of
                                             the epoch's samples it fired on (0 = dead)
    media/test/decision_time                 histogram: first output spike step per sample
                                             (one bin per step, edges at k - 0.5)
    media/test/confusion_matrix              W&B confusion-matrix chart (+ ``_table``)
    media/test/metrics                       table: one row of the final test metrics
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytorch_lightning as pl
import torch
from pytorch_lightning.loggers import WandbLogger as LightningWandbLogger

from bstdg.tracking.images import raster_plot
from bstdg.utils.checks import ConfigError

MAX_RASTER_ROWS = 1024  # neurons drawn per layer (a 2*50*33 Caltech input stays readable)
RATE_BINS = 20
WANDB_MAX_BINS = 512  # wandb.Histogram refuses more bins
NO_SPIKE = "no spike"


def wandb_logger(trainer: pl.Trainer) -> LightningWandbLogger | None:
    """The run's W&B logger, or None when W&B is not among its loggers."""
    for logger in trainer.loggers:
        if isinstance(logger, LightningWandbLogger):
            return logger
    return None


def log_media(logger: LightningWandbLogger, trainer: pl.Trainer, data: Mapping[str, Any]
              ) -> None:
    """Log ``data`` in one W&B row at the trainer's epoch and step (keys defined first)."""
    if not data:
        return
    define = getattr(logger, "define_metrics", None)
    if define is not None:
        define(list(data))
    logger.experiment.log({**data, "epoch": trainer.current_epoch,
                           "trainer/global_step": trainer.global_step})


def firing_rates(pl_module: pl.LightningModule, stage: str, world_size: int = 1
                 ) -> dict[str, np.ndarray]:
    """{``layer<k>``: per-neuron share of the stage's samples it fired on} from the
    module's fire counters (every rank must call this under DDP: it gathers)."""
    fire_counts = getattr(pl_module, "fire_counts", None)
    if fire_counts is None:
        return {}
    rates = {}
    for k, counter in enumerate(fire_counts(stage), start=1):
        if not counter.update_count and world_size == 1:
            continue
        counts, samples = counter.compute()
        if float(samples) > 0:
            rates[f"layer{k}"] = (counts / samples).float().cpu().numpy()
    return rates


def _rate_histograms(stage: str, rates: Mapping[str, np.ndarray]) -> dict[str, Any]:
    import wandb

    return {f"media/{stage}/firing_rate/{name}":
            wandb.Histogram(np_histogram=np.histogram(values, bins=RATE_BINS, range=(0, 1)))
            for name, values in rates.items()}


def decision_time_histogram(times: np.ndarray, T: int) -> Any:
    """A W&B histogram of per-sample decision steps over 0..T with one bin per integer step
    (edges at k - 0.5; wider integer bins only past W&B's 512-bin limit), so that no step
    falls on a bin edge and no bin is left empty between two steps."""
    import wandb

    from bstdg.report.plots import integer_bin_edges

    edges = integer_bin_edges([0, T], max_bins=WANDB_MAX_BINS)
    counts, edges = np.histogram(np.asarray(times, dtype=float), bins=edges)
    return wandb.Histogram(np_histogram=(counts, edges))


@torch.no_grad()
def raster_media(pl_module: Any, stage: str, x: torch.Tensor,
                 y: torch.Tensor) -> dict[str, Any]:
    """One raster image per layer (input, hidden, output) of the samples ``x``."""
    import wandb

    from bstdg.snn.readout import decide

    T = int(pl_module.T)
    t_in = pl_module.encoder(x.to(pl_module.device))
    out = pl_module.net(t_in)
    pred = decide(out.out_times, out.v_fire, out.v_end, T, pl_module.fallback).cpu().tolist()
    labels = y.cpu().tolist()
    caption = f"labels {labels}, predictions {pred}; T={T}"
    titles = [f"label {y_}, predicted {p_}" for y_, p_ in zip(labels, pred, strict=True)]
    layers = [("input", t_in), *((f"layer{k}", t) for k, t in enumerate(out.times, start=1))]
    media = {}
    for k, (name, times) in enumerate(layers):
        values = times[:, :MAX_RASTER_ROWS].cpu().numpy()
        image = raster_plot(values, T, titles,
                            labels=labels if k == len(layers) - 1 else None, name=name)
        shown = "" if times.shape[1] <= MAX_RASTER_ROWS else f" (first {MAX_RASTER_ROWS})"
        media[f"media/{stage}/raster/{name}"] = wandb.Image(
            image, caption=f"{name}: {times.shape[1]} neurons{shown}; {caption}")
    return media


def confusion_chart(labels: np.ndarray, preds: np.ndarray, n_classes: int) -> Any:
    """W&B's confusion-matrix chart of a torchmetrics ``MulticlassConfusionMatrix``;
    undecided samples (prediction -1) get a ``no spike`` column."""
    import wandb
    from torchmetrics.classification import MulticlassConfusionMatrix

    preds = np.asarray(preds, dtype=np.int64)
    undecided = bool((preds < 0).any())
    n = n_classes + int(undecided)
    metric = MulticlassConfusionMatrix(num_classes=n)
    metric.update(torch.as_tensor(np.where(preds < 0, n_classes, preds)),
                  torch.as_tensor(np.asarray(labels, dtype=np.int64)))
    matrix = metric.compute().numpy()
    names = [str(c) for c in range(n_classes)] + ([NO_SPIKE] if undecided else [])
    rows = [[names[i], names[j], int(matrix[i, j])]
            for i in range(n_classes) for j in range(n)]
    table = wandb.Table(columns=["Actual", "Predicted", "nPredictions"], data=rows)
    fields = {"Actual": "Actual", "Predicted": "Predicted", "nPredictions": "nPredictions"}
    return wandb.plot_table("wandb/confusion_matrix/v1", table, fields,
                            {"title": "test confusion matrix"})


def metrics_table(metrics: Mapping[str, Any]) -> Any:
    """A one-row ``wandb.Table`` of the final ``test/*`` and ``time/infer_*`` values."""
    import wandb

    names: list[Any] = sorted(k for k in metrics if k.startswith(("test/", "time/infer")))
    return wandb.Table(columns=names, data=[[float(metrics[k]) for k in names]])


class WandbMedia(pl.Callback):
    """Logs the media of :mod:`bstdg.tracking.media` when W&B is a logger of the run
    (otherwise it does nothing).

    Every ``every_n_epochs`` epochs (from the first; also the last of ``max_epochs``):
    rasters of the first ``raster_samples`` validation samples and the train/val
    firing-rate histograms. After testing: rasters of the first test samples, test
    firing rates, decision times, the confusion matrix and the metrics table. Per-sample
    test results come from the ``PerSampleResults`` callback when it runs (else one
    forward pass over the test set).
    """

    def __init__(self, every_n_epochs: int = 5, raster_samples: int = 4) -> None:
        if every_n_epochs < 1:
            raise ConfigError(f"callbacks.wandb_media.every_n_epochs={every_n_epochs} must be "
                              f">= 1 (media every that many epochs).")
        if raster_samples < 0:
            raise ConfigError(f"callbacks.wandb_media.raster_samples={raster_samples} must be "
                              f">= 0 (0 logs no rasters).")
        self.every_n_epochs = every_n_epochs
        self.raster_samples = raster_samples
        self._pending: dict[str, Any] = {}

    def _due(self, trainer: pl.Trainer) -> bool:
        epoch = trainer.current_epoch
        return epoch % self.every_n_epochs == 0 or epoch + 1 == trainer.max_epochs

    def _first_samples(self, loaders: Any) -> tuple[torch.Tensor, torch.Tensor] | None:
        loader = loaders[0] if isinstance(loaders, (list, tuple)) else loaders
        if loader is None or self.raster_samples == 0:
            return None
        for x, y in loader:
            return x[: self.raster_samples], y[: self.raster_samples]
        return None

    def _stage_media(self, trainer: pl.Trainer, pl_module: pl.LightningModule, stage: str,
                     loaders: Any = None) -> dict[str, Any]:
        """Firing-rate histograms (gathered on every rank) and, on rank zero, rasters."""
        rates = firing_rates(pl_module, stage, trainer.world_size)
        if not trainer.is_global_zero:
            return {}
        media = _rate_histograms(stage, rates)
        samples = self._first_samples(loaders) if hasattr(pl_module, "encoder") else None
        if samples is not None:
            media.update(raster_media(pl_module, stage, *samples))
        return media

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule
                                ) -> None:
        if trainer.sanity_checking or wandb_logger(trainer) is None or not self._due(trainer):
            return
        self._pending.update(self._stage_media(trainer, pl_module, "val",
                                               trainer.val_dataloaders))

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        logger = wandb_logger(trainer)
        if logger is None or not self._due(trainer):
            return
        media = {**self._pending, **self._stage_media(trainer, pl_module, "train")}
        self._pending = {}
        if trainer.is_global_zero:
            log_media(logger, trainer, media)

    def on_test_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if wandb_logger(trainer) is None:
            return
        self._pending = self._stage_media(trainer, pl_module, "test", trainer.test_dataloaders)

    def on_test_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        logger = wandb_logger(trainer)
        media, self._pending = self._pending, {}
        if logger is None or not trainer.is_global_zero:
            return
        results = self._test_results(trainer, pl_module)
        if results:
            media["media/test/decision_time"] = decision_time_histogram(
                results["decision_time"], int(pl_module.T))
            media["media/test/confusion_matrix"] = confusion_chart(
                results["label"], results["pred"], int(pl_module.hparams["n_classes"]))
        media["media/test/metrics"] = metrics_table(trainer.callback_metrics)
        log_media(logger, trainer, media)

    @staticmethod
    def _test_results(trainer: pl.Trainer, pl_module: Any
                      ) -> dict[str, np.ndarray]:
        from bstdg.lit.callbacks import PerSampleResults, first_test_loader, per_sample_columns

        for callback in getattr(trainer, "callbacks", []):
            if isinstance(callback, PerSampleResults) and callback.results:
                return callback.results
        loader = first_test_loader(trainer)
        if loader is None or not hasattr(pl_module, "encoder"):
            return {}
        return per_sample_columns(pl_module, loader)
