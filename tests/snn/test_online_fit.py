"""``model.online=true`` under Lightning: manual optimisation driving the online kernel.

A short fit on fake data equals the batch-1 automatic fit (spike times, weights, ``fact``);
validation and the epoch metrics are logged; a run resumed from its epoch-1 checkpoint
ends where the uninterrupted run ends.
"""

from __future__ import annotations

import copy
from pathlib import Path

import hydra
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from pytorch_lightning.callbacks import ModelCheckpoint
from torch.utils.data import DataLoader, TensorDataset

from bstdg.lit.module import SpikingClassifier

N_IN, HIDDEN, N_CLASSES, N = 64, 16, 4, 120


def _module(cfg: DictConfig, online: bool) -> SpikingClassifier:
    return hydra.utils.instantiate(
        cfg.model, online=online, encoder=hydra.utils.instantiate(cfg.encoder),
        loss=hydra.utils.instantiate(cfg.loss), n_inputs=N_IN, n_classes=N_CLASSES,
    )


def _loader(batch: int, seed: int = 0) -> DataLoader:
    rng = np.random.default_rng(seed)
    x = rng.integers(0, 256, (N, N_IN))
    x[rng.random(x.shape) < 0.5] = 0
    y = np.arange(N) % N_CLASSES
    data = TensorDataset(torch.from_numpy(x.astype(np.uint8)), torch.from_numpy(y))
    return DataLoader(data, batch_size=batch, shuffle=False)


def _trainer(epochs: int, root: Path, **kwargs: object) -> pl.Trainer:
    return pl.Trainer(max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
                      enable_progress_bar=False, enable_model_summary=False,
                      num_sanity_val_steps=0, log_every_n_steps=1, default_root_dir=root,
                      **kwargs)


def _same_weights(a: SpikingClassifier, b: SpikingClassifier) -> None:
    for la, lb in zip(a.net.layers, b.net.layers, strict=True):
        np.testing.assert_allclose(lb.weight.detach().numpy(), la.weight.detach().numpy(),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(lb.threshold.numpy(), la.threshold.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", ["bs4nn", "s4nn"])
def test_online_fit_equals_the_batch1_fit(compose_cfg, tmp_path: Path, name: str) -> None:
    cfg = compose_cfg(f"experiment=mnist_{name}", f"model.net.hidden=[{HIDDEN}]")
    assert cfg.model.online is True  # the preset's default
    torch.manual_seed(0)
    ref = _module(cfg, online=False)
    got = copy.deepcopy(ref)
    got.online, got.automatic_optimization = True, False
    _trainer(1, tmp_path / "ref", enable_checkpointing=False, limit_val_batches=0).fit(
        ref, train_dataloaders=_loader(1))
    trainer = _trainer(1, tmp_path / "got", enable_checkpointing=False)
    trainer.fit(got, train_dataloaders=_loader(32), val_dataloaders=_loader(32, seed=1))
    _same_weights(ref, got)
    if name == "bs4nn":
        assert got.net.layers[0].fact.item() == pytest.approx(ref.net.layers[0].fact.item(),
                                                               rel=1e-9)
    logged = trainer.callback_metrics
    assert {"train/loss", "train/acc", "val/acc", "val/acc_best"} <= set(logged)
    assert trainer.global_step == 4  # one count per batch of 32 (120 samples)


def test_online_resume_from_checkpoint(compose_cfg, tmp_path: Path) -> None:
    cfg = compose_cfg("experiment=mnist_bs4nn", f"model.net.hidden=[{HIDDEN}]",
                      "model.online=true")
    torch.manual_seed(0)
    whole = _module(cfg, online=True)
    half = copy.deepcopy(whole)
    _trainer(2, tmp_path / "whole", enable_checkpointing=False, limit_val_batches=0).fit(
        whole, train_dataloaders=_loader(40))
    ckpt = ModelCheckpoint(dirpath=tmp_path / "ckpt", save_last=True)
    _trainer(1, tmp_path / "half", callbacks=[ckpt], limit_val_batches=0).fit(
        half, train_dataloaders=_loader(40))
    resumed = _module(cfg, online=True)
    _trainer(2, tmp_path / "resumed", enable_checkpointing=False, limit_val_batches=0).fit(
        resumed, train_dataloaders=_loader(40), ckpt_path=str(tmp_path / "ckpt" / "last.ckpt"))
    _same_weights(whole, resumed)
    assert resumed.net.layers[1].fact.item() == whole.net.layers[1].fact.item()


def test_online_refuses_momentum(compose_cfg, tmp_path: Path) -> None:
    cfg = compose_cfg("experiment=mnist_bs4nn", f"model.net.hidden=[{HIDDEN}]",
                      "model.optimizer.momentum=0.9")
    module = _module(cfg, online=True)
    with pytest.raises(ValueError, match="momentum"):
        _trainer(1, tmp_path, enable_checkpointing=False, limit_val_batches=0).fit(
            module, train_dataloaders=_loader(40))
