"""Test accuracy after every epoch, for the best-test-epoch figure the baseline papers report.

S4NN, BS4NN and SSTDP report the best test accuracy over their training epochs. The platform
reports the test accuracy of the checkpoint chosen on validation (``test/acc``); this callback
adds the papers' figure beside it, under its own names, so the two are never confused:

* ``test_epoch/acc``, ``test_epoch/acc_ties``: the test set after this epoch's validation;
* ``test_epoch/acc_best``, ``test_epoch/acc_ties_best``: the maximum of each over the epochs
  so far (each its own maximum, as a paper counting that rule would);
* ``test_epoch/best_epoch``: the epoch of ``acc_best`` (0-based, Lightning's count).

Nothing selects on these: checkpointing and early stopping monitor ``val/acc``.
"""

from __future__ import annotations

from typing import Any

import pytorch_lightning as pl
import torch

from bstdg.snn.readout import correct_with_ties, decide

TEST_EPOCH_PREFIX = "test_epoch/"


@torch.no_grad()
def test_set_accuracy(pl_module: Any, loader: Any) -> tuple[float, float]:
    """(acc, acc_ties) of ``pl_module`` over ``loader``: the real decision, and the label
    neuron among the earliest output spikes (``correct_with_ties``)."""
    T = int(pl_module.T)
    correct = ties = total = 0
    for x, y in loader:
        x, y = x.to(pl_module.device), y.to(pl_module.device)
        out = pl_module.net(pl_module.encoder(x))
        pred = decide(out.out_times, out.v_fire, out.v_end, T, pl_module.fallback)
        correct += int((pred == y).sum())
        ties += int(correct_with_ties(out.out_times, y, pred, T).sum())
        total += int(y.shape[0])
    if total == 0:
        raise ValueError("the test set is empty: test_epoch accuracy needs test samples")
    return correct / total, ties / total


class TestAccuracyEachEpoch(pl.Callback):
    """After each validation epoch (not the sanity check), one pass over the test set; logs
    the ``test_epoch/*`` metrics of the module docstring. Its maxima are saved in checkpoints,
    so a resumed run keeps them."""

    def __init__(self) -> None:
        self.best = {"acc": -1.0, "acc_ties": -1.0, "best_epoch": -1}

    def on_validation_epoch_end(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        if trainer.sanity_checking or trainer.datamodule is None:
            return
        was_training = pl_module.training
        pl_module.eval()
        acc, acc_ties = test_set_accuracy(pl_module, trainer.datamodule.test_dataloader())
        pl_module.train(was_training)
        if acc > self.best["acc"]:
            self.best["acc"], self.best["best_epoch"] = acc, trainer.current_epoch
        self.best["acc_ties"] = max(self.best["acc_ties"], acc_ties)
        values = {"acc": acc, "acc_ties": acc_ties, "acc_best": self.best["acc"],
                  "acc_ties_best": self.best["acc_ties"], "best_epoch": self.best["best_epoch"]}
        for name, value in values.items():
            pl_module.log(f"{TEST_EPOCH_PREFIX}{name}", float(value))

    def state_dict(self) -> dict[str, Any]:
        return dict(self.best)

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.best.update(state_dict)
