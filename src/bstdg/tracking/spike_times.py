"""W&B histograms of the spike times of one validation batch, per layer."""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_only

from bstdg.tracking.media import log_media, wandb_logger


class SpikeTimeHistogram(pl.Callback):
    """Logs a histogram of hidden and output spike times of one validation batch to W&B
    (``spike_times/layer<k>``, on the epoch axis) every ``every_n_epochs`` epochs."""

    def __init__(self, every_n_epochs: int = 1) -> None:
        self.every_n_epochs = max(1, every_n_epochs)

    @rank_zero_only
    @torch.no_grad()
    def on_validation_batch_end(
        self,
        trainer: pl.Trainer,
        pl_module: pl.LightningModule,
        outputs: Any,
        batch: Any,
        batch_idx: int,
        dataloader_idx: int = 0,
    ) -> None:
        if batch_idx != 0 or trainer.sanity_checking:
            return
        if trainer.current_epoch % self.every_n_epochs:
            return
        logger = wandb_logger(trainer)
        if logger is None:
            return
        import wandb

        out = pl_module(batch[0])
        T = pl_module.T
        data = {}
        for k, times in enumerate(out.times, start=1):
            fired = times[times < T].float().cpu().numpy()
            if fired.size:
                data[f"spike_times/layer{k}"] = wandb.Histogram(fired, num_bins=min(64, T))
        log_media(logger, trainer, data)
