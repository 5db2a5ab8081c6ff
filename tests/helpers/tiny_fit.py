"""A one-epoch Lightning fit of a 2-1 linear model on four samples, for callback tests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset


class TinyModule(pl.LightningModule):
    """Linear(2, 1) with a squared-output loss; ``fail`` raises in the first training step."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)
        self.fail = fail

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        if self.fail:
            raise RuntimeError("step failed")
        return self.lin(batch[0]).pow(2).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters())


def tiny_trainer(tmp_path: Path, *callbacks: pl.Callback) -> pl.Trainer:
    """One epoch, no logger, checkpoint, progress bar or summary."""
    return pl.Trainer(max_epochs=1, callbacks=list(callbacks), logger=False,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=tmp_path)


def tiny_data() -> DataLoader:
    """Four samples of ones, two batches."""
    return DataLoader(TensorDataset(torch.ones(4, 2)), batch_size=2)
