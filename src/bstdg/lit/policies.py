"""Training policies as Lightning callbacks: dead-neuron revival, threshold homeostasis, the
spike-dropout schedule and stop-on-silence (configs: ``conf/callbacks/policies/``).

Each acts on a :class:`~bstdg.lit.module.SpikingClassifier` at the hook where the module
used to apply it; Lightning calls a callback's hook before the module's own, so a policy
acts after every other callback of the list and before the module (its constraints after
each optimiser step, its epoch-end logging) and the checkpoint callbacks.
"""

from __future__ import annotations

import math
from typing import Any

import pytorch_lightning as pl
import torch
from pytorch_lightning.utilities import rank_zero_warn

from bstdg.lit.optim_state import zero_optimizer_state_
from bstdg.snn.homeostasis import homeostatic_threshold_step_

REVIVAL_MODES = ("incoming", "full")
# The key of ``training_step``'s output that holds, per hidden layer, the (B, N) bool of
# which neuron fired on which sample of the batch.
HIDDEN_FIRED = "hidden_fired"


class DeadNeuronRevival(pl.Callback):
    """At the end of each training epoch, revive the hidden neurons that fired on fewer than
    ``min_rate`` of the epoch's training samples (``train/reinit_neurons/layer<k>``: how many).

    ``mode="incoming"`` re-draws their incoming weights only (S4NN, SSTDP); ``"full"`` also
    resets their thresholds, zeroes their outgoing latent weights and clears the optimiser
    state of every entry it touched (:meth:`~bstdg.snn.SpikingNet.revive_neurons_`).
    """

    def __init__(self, min_rate: float, mode: str = "incoming") -> None:
        if not 0.0 < min_rate < 1.0:
            raise ValueError(f"callbacks.dead_neuron_revival.min_rate must be in (0, 1) (a share "
                             f"of the epoch's samples), got {min_rate}")
        if mode not in REVIVAL_MODES:
            raise ValueError(f"unknown callbacks.dead_neuron_revival.mode {mode!r}; valid: "
                             f"{', '.join(REVIVAL_MODES)}")
        self.min_rate = float(min_rate)
        self.mode = mode

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        for k, counter in enumerate(pl_module.fire_counts("train")):
            counts, n = counter.compute()
            if n > 0:
                revived = self._revive(trainer, pl_module.net, k, counts < self.min_rate * n)
                pl_module.log(f"train/reinit_neurons/layer{k + 1}", float(revived),
                              sync_dist=True)

    def _revive(self, trainer: pl.Trainer, net: Any, k: int, dead: torch.Tensor) -> int:
        """Revive the ``dead`` neurons of hidden layer ``k``; how many."""
        if self.mode == "incoming":
            return net.layers[k].reinit_neurons_(dead)
        touched = net.revive_neurons_(k, dead)
        for optimizer in trainer.optimizers:
            for param, index in touched:
                zero_optimizer_state_(optimizer, param, index)
        return int(dead.sum())


class ThresholdHomeostasis(pl.Callback):
    """After each optimiser step, move every hidden threshold towards the firing rate
    ``target``: theta_j += rate * (r_j - target), r_j the share of the batch on which neuron j
    fired (:func:`~bstdg.snn.homeostasis.homeostatic_threshold_step_`), before the module's
    constraints clamp it. Needs trained hidden thresholds and no gradient accumulation."""

    def __init__(self, rate: float, target: float = 0.1) -> None:
        if not (math.isfinite(rate) and rate > 0):
            raise ValueError(f"callbacks.threshold_homeostasis.rate must be a finite rate > 0, "
                             f"got {rate}")
        if not 0.0 < target < 1.0:
            raise ValueError(f"callbacks.threshold_homeostasis.target must be a firing rate in "
                             f"(0, 1), got {target}")
        self.rate = float(rate)
        self.target = float(target)

    def setup(self, trainer: pl.Trainer, pl_module: Any, stage: str) -> None:
        if stage != "fit":
            return
        fixed = [layer.threshold_mode for layer in pl_module.net.layers[:-1]
                 if layer.threshold_mode in ("fixed", "bs4nn_fact")]
        if fixed:
            raise ValueError(
                f"threshold homeostasis moves trained thresholds, but the hidden layers have "
                f"threshold_mode {fixed[0]!r}: use model.net.threshold_mode=per_neuron (or "
                f"per_layer), or callbacks.threshold_homeostasis=null"
            )
        if trainer.accumulate_grad_batches != 1:
            raise ValueError(
                "threshold homeostasis moves the hidden thresholds after every training batch, "
                "i.e. between the micro-batches of an accumulated step: set "
                "trainer.accumulate_grad_batches=1 (or callbacks.threshold_homeostasis=null)"
            )

    def on_train_batch_end(self, trainer: pl.Trainer, pl_module: Any, outputs: Any,
                           batch: Any, batch_idx: int) -> None:
        strategy = trainer.strategy
        for layer, fired in zip(pl_module.net.layers, outputs[HIDDEN_FIRED], strict=False):
            # the batch's rates over every DDP rank (identity on one device): every replica
            # must take the same step, as DDP syncs gradients, never parameters
            counts = strategy.reduce(fired.sum(0, dtype=torch.float32), reduce_op="sum")
            n = strategy.reduce(counts.new_tensor(float(fired.shape[0])), reduce_op="sum")
            homeostatic_threshold_step_(layer.threshold, counts, float(n), self.target,
                                        self.rate)


def dropout_epochs(until: float, max_epochs: int | None) -> int:
    """The number of epochs with spike dropout: round(until * max_epochs), at least 1."""
    if max_epochs is None or max_epochs < 1:
        raise ValueError(f"callbacks.dropout_schedule.until={until} is a fraction of the run, "
                         f"but the run has no epoch limit (trainer.max_epochs={max_epochs}): set "
                         f"trainer.max_epochs, or callbacks.dropout_schedule=null")
    return max(1, round(until * max_epochs))


class DropoutSchedule(pl.Callback):
    """Keep the net's hidden and input spike dropout for the first round(until * max_epochs)
    epochs and turn it off for the rest, so that the last epochs fit the output layer to every
    hidden spike, as evaluation sees them (:func:`dropout_epochs`; logged as
    ``train/dropout_on``). The configured dropout is restored when fit ends."""

    def __init__(self, until: float) -> None:
        if not 0.0 < until <= 1.0:
            raise ValueError(f"callbacks.dropout_schedule.until must be a fraction of the run in "
                             f"(0, 1], got {until}")
        self.until = float(until)
        self._dropout: tuple[float, float] | None = None

    def setup(self, trainer: pl.Trainer, pl_module: Any, stage: str) -> None:
        if stage == "fit":
            dropout_epochs(self.until, trainer.max_epochs)

    def on_train_epoch_start(self, trainer: pl.Trainer, pl_module: Any) -> None:
        net = pl_module.net
        if self._dropout is None:
            self._dropout = (net.hidden_dropout, net.input_dropout)
        on = trainer.current_epoch < dropout_epochs(self.until, trainer.max_epochs)
        net.hidden_dropout, net.input_dropout = self._dropout if on else (0.0, 0.0)
        pl_module.log("train/dropout_on", float(on), on_step=False, on_epoch=True,
                      sync_dist=True)

    def teardown(self, trainer: pl.Trainer, pl_module: Any, stage: str) -> None:
        if stage == "fit" and self._dropout is not None:
            pl_module.net.hidden_dropout, pl_module.net.input_dropout = self._dropout
            self._dropout = None


class StopOnSilence(pl.Callback):
    """Stop training after an epoch in which no output neuron fired on any training sample:
    the spike-timing gradient then has nothing to learn from. ``stop_reason`` says why (the
    run is recorded as ``stopped``, with that message)."""

    def __init__(self) -> None:
        self.stop_reason: str | None = None

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: Any) -> None:
        silent = pl_module.epoch_means("train").get("no_output_spike_frac")
        if silent is None or float(silent) < 1.0:
            return
        self.stop_reason = (
            f"stopped after epoch {trainer.current_epoch}: no output neuron fired on any "
            f"training sample of the epoch (train/no_output_spike_frac = 1.0), so the "
            f"spike-timing gradient has nothing to learn from. Lower the thresholds "
            f"(model.net.threshold_init), make more initial weights positive "
            f"(model.net.init_range) or check the encoder (encoder.T, "
            f"encoder.intensity_threshold); callbacks.stop_on_silence=null trains on regardless."
        )
        rank_zero_warn(self.stop_reason)
        trainer.should_stop = True
