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


@pytest.fixture
def ftz_supported() -> None:
    if not torch.set_flush_denormal(True):
        pytest.skip("this CPU has no flush-to-zero mode")
    torch.set_flush_denormal(False)


def _trainer(tmp_path, *callbacks: pl.Callback) -> pl.Trainer:
    return pl.Trainer(max_epochs=1, callbacks=[FlushDenormals(), *callbacks], logger=False,
                      enable_checkpointing=False, enable_progress_bar=False,
                      enable_model_summary=False, default_root_dir=tmp_path)


def _data() -> DataLoader:
    return DataLoader(TensorDataset(torch.ones(4, 2)), batch_size=2)


@pytest.mark.usefixtures("ftz_supported")
def test_subnormals_are_zero_during_fit_and_restored_after(tmp_path) -> None:
    probe = _Probe()
    assert _subnormal_survives()
    _trainer(tmp_path, probe).fit(_Tiny(), _data())
    assert probe.seen == [False, False]
    assert _subnormal_survives()


@pytest.mark.usefixtures("ftz_supported")
def test_a_failed_fit_switches_flushing_off(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="step failed"):
        _trainer(tmp_path).fit(_Tiny(fail=True), _data())
    assert _subnormal_survives()


def test_default_callbacks_flush_denormals(tmp_path) -> None:
    cfg = compose_cfg("train.yaml", ["experiment=mnist_bstdg"], tmp_path)
    assert cfg.callbacks.flush_denormals._target_ == "bstdg.lit.callbacks.FlushDenormals"
