"""DataModules drive a real pytorch_lightning Trainer."""

from __future__ import annotations

import pytest
import pytorch_lightning as pl
import torch

from bstdg.data import SHDDataModule, SyntheticDataModule


class _Linear(pl.LightningModule):
    def __init__(self, n_inputs: int, n_classes: int, events: bool = False) -> None:
        super().__init__()
        self.events = events
        self.fc = torch.nn.Linear(n_inputs, n_classes)
        self.seen: dict[str, int] = {}

    def _features(self, x: torch.Tensor) -> torch.Tensor:
        if not self.events:
            return x.float() / 255
        units = x[:, :, 1].long()
        valid = torch.isfinite(x[:, :, 0]).float()
        return torch.zeros(len(x), self.fc.in_features).scatter_add_(1, units, valid)

    def _step(self, batch, stage: str) -> torch.Tensor:
        x, y = batch
        self.seen[stage] = self.seen.get(stage, 0) + len(y)
        loss = torch.nn.functional.cross_entropy(self.fc(self._features(x)), y)
        self.log(f"{stage}/loss", loss, batch_size=len(y))
        return loss

    def training_step(self, batch, _):
        return self._step(batch, "train")

    def validation_step(self, batch, _):
        self._step(batch, "val")

    def test_step(self, batch, _):
        self._step(batch, "test")

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.1)


def _trainer(tmp_path):
    return pl.Trainer(
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=tmp_path,
        num_sanity_val_steps=0,
    )


def test_fit_and_test_synthetic(tmp_path):
    dm = SyntheticDataModule(n_train=96, n_val=32, n_test=40, batch_size=16)
    model = _Linear(dm.n_inputs, dm.n_classes)
    trainer = _trainer(tmp_path)
    trainer.fit(model, datamodule=dm)
    trainer.test(model, datamodule=dm)
    assert model.seen == {"train": 96, "val": 32, "test": 40}


def test_fit_shd_without_val(shd_root, tmp_path):
    dm = SHDDataModule(str(shd_root), batch_size=8, val_size=0)
    model = _Linear(dm.n_inputs, dm.n_classes, events=True)
    with pytest.warns(UserWarning, match="TEST split"):
        _trainer(tmp_path).fit(model, datamodule=dm)
    assert model.seen == {"train": 50, "val": 20}
