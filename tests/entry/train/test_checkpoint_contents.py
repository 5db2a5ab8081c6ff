"""The checkpoints hold what the run validated: the best one the validated weights of its
epoch (dead-neuron revival at the epoch's end must not leak into it), last.ckpt the last
epoch."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch

from bstdg.train import build, build_trainer
from helpers.hydra_compose import SYNTHETIC


class ValidatedWeights(pl.Callback):
    """Copies of the net's weights at the end of each validation epoch, by epoch."""

    def __init__(self) -> None:
        self.by_epoch: dict[int, dict[str, torch.Tensor]] = {}

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        if not trainer.sanity_checking:
            self.by_epoch[trainer.current_epoch] = {
                k: v.detach().clone() for k, v in pl_module.net.state_dict().items()}


def _fit(make_cfg, *overrides: str) -> tuple[pl.Trainer, ValidatedWeights, Any]:
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=3", *overrides)
    datamodule, model = build(cfg)
    trainer = build_trainer(cfg, model)
    recorder = ValidatedWeights()
    trainer.callbacks.append(recorder)
    trainer.fit(model, datamodule=datamodule)
    return trainer, recorder, model


def _net_state(path: str | Path) -> tuple[int, dict[str, torch.Tensor]]:
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    return int(ckpt["epoch"]), {k.removeprefix("net."): v for k, v in ckpt["state_dict"].items()
                                if k.startswith("net.")}


def test_best_checkpoint_holds_the_validated_weights_despite_revival(make_cfg) -> None:
    # rate 0.9: nearly every hidden neuron is re-drawn at the end of every epoch
    trainer, recorder, model = _fit(make_cfg, "+callbacks/policies=dead_neuron_revival",
                                    "callbacks.dead_neuron_revival.min_rate=0.9")
    assert trainer.callback_metrics["train/reinit_neurons/layer1"] > 0
    revived_after_last = model.net.state_dict()
    epoch, saved = _net_state(trainer.checkpoint_callback.best_model_path)
    validated = recorder.by_epoch[epoch]
    assert saved.keys() == validated.keys()
    for key, value in saved.items():
        assert torch.equal(value, validated[key]), key
    _, last = _net_state(trainer.checkpoint_callback.last_model_path)
    assert all(torch.equal(v, recorder.by_epoch[2][k]) for k, v in last.items())
    # the revival did change the weights after the last validation
    assert not torch.equal(revived_after_last["layers.0.weight"], last["layers.0.weight"])


def test_last_checkpoint_is_the_last_epoch_when_the_best_is_earlier(make_cfg) -> None:
    # mode min on val/acc makes an early epoch the "best" one
    trainer, recorder, _ = _fit(make_cfg, "callbacks.model_checkpoint.mode=min",
                                "callbacks.early_stopping=null")
    callback = trainer.checkpoint_callback
    best_epoch, _ = _net_state(callback.best_model_path)
    last_epoch, last = _net_state(callback.last_model_path)
    assert last_epoch == 2 and best_epoch < 2, (best_epoch, last_epoch)
    assert all(torch.equal(v, recorder.by_epoch[2][k]) for k, v in last.items())


def test_without_validation_checkpoints_are_written_at_the_epoch_end(make_cfg) -> None:
    trainer, _, _ = _fit(make_cfg, "+trainer.limit_val_batches=0")
    assert sum(trainer.num_val_batches) == 0
    last_epoch, _ = _net_state(trainer.checkpoint_callback.last_model_path)
    assert last_epoch == 2


def test_last_checkpoint_reaches_an_epoch_without_validation(make_cfg) -> None:
    # validation after epochs 1 only (of 0, 1, 2): the last epoch saves nothing else
    trainer, _, _ = _fit(make_cfg, "trainer.check_val_every_n_epoch=2")
    last_epoch, _ = _net_state(trainer.checkpoint_callback.last_model_path)
    best_epoch, _ = _net_state(trainer.checkpoint_callback.best_model_path)
    assert (last_epoch, best_epoch) == (2, 1)
