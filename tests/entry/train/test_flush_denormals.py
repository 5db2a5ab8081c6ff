"""FlushDenormals: subnormal floats are zero while the Trainer trains, and not after."""

from __future__ import annotations

from typing import Any

import pytest
import pytorch_lightning as pl
import torch
from torch.utils.data import DataLoader, TensorDataset

from bstdg.lit.callbacks import FlushDenormals
from helpers.hydra_compose import compose_cfg

SUBNORMAL = 1e-39  # below float32's smallest normal, 1.18e-38


def _subnormal_survives() -> bool:
    return (torch.tensor([SUBNORMAL]) * 1.0).item() != 0.0


class _Probe(pl.Callback):
    def __init__(self) -> None:
        self.seen: list[bool] = []

    def on_train_batch_start(self, *_: Any) -> None:
        self.seen.append(_subnormal_survives())


class _Tiny(pl.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.lin = torch.nn.Linear(2, 1)

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self.lin(batch[0]).pow(2).mean()

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters())


@pytest.fixture
def ftz_supported() -> None:
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU has no flush-to-zero mode")
    torch.set_flush_denormal(False)


@pytest.mark.usefixtures("ftz_supported")
def test_subnormals_are_zero_during_fit_and_restored_after(tmp_path) -> None:
    probe = _Probe()
    trainer = pl.Trainer(max_epochs=1, callbacks=[FlushDenormals(), probe], logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, default_root_dir=tmp_path)
    assert _subnormal_survives()
    trainer.fit(_Tiny(), DataLoader(TensorDataset(torch.ones(4, 2)), batch_size=2))
    assert probe.seen == [False, False]
    assert _subnormal_survives()


def test_default_callbacks_flush_denormals(tmp_path) -> None:
    cfg = compose_cfg("train.yaml", ["experiment=mnist_bstdg"], tmp_path)
    assert cfg.callbacks.flush_denormals._target_ == "bstdg.lit.callbacks.FlushDenormals"
