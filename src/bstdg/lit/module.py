"""LightningModule: encoder -> spiking network -> readout + loss, with spike metrics."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import pytorch_lightning as pl
import torch
from torchmetrics import MaxMetric

from bstdg.lit.metrics import FireCounts, StageMeans, dead_and_saturated
from bstdg.lit.optim_state import zero_optimizer_state_
from bstdg.lit.spike_stats import spike_statistics
from bstdg.snn.layers import NetOutput, SpikingNet
from bstdg.snn.readout import FALLBACKS, correct_with_ties, decide

STAGES = ("train", "val", "test")
REVIVAL_MODES = ("incoming", "full")


class SpikingClassifier(pl.LightningModule):
    """Train and evaluate a single-spike network with a spike-timing-dependent gradient.

    ``net`` is a partial :class:`SpikingNet` completed here with the data's input size and
    class count; ``encoder`` maps a batch of raw inputs to spike times (B, n_inputs);
    ``loss`` maps (output times, labels, T) to a scalar. Constraints (threshold clamp,
    latent clip) are applied after every optimiser step. ``dead_neuron_min_rate`` > 0
    revives hidden neurons that fired on fewer than that fraction of the epoch's training
    samples, at the end of each epoch: ``dead_neuron_revival="incoming"`` re-draws their
    incoming weights only (S4NN/SSTDP); ``"full"`` also resets their thresholds, zeroes their
    outgoing latent weights and clears the optimiser state of every entry it touched.
    A scheduler partial without ``T_max`` (e.g. CosineAnnealingLR) gets the run's length
    in steps or epochs (``scheduler_interval``).
    """

    def __init__(
        self,
        net: Callable[..., SpikingNet],
        encoder: Callable[[torch.Tensor], torch.Tensor],
        loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor],
        optimizer: Callable[..., torch.optim.Optimizer],
        n_inputs: int,
        n_classes: int,
        scheduler: Callable[..., Any] | None = None,
        fallback: str = "max_potential",
        dead_neuron_min_rate: float = 0.0,
        scheduler_interval: str = "epoch",
        dead_neuron_revival: str = "incoming",
    ) -> None:
        super().__init__()
        self.save_hyperparameters(
            logger=False, ignore=["net", "encoder", "loss", "optimizer", "scheduler"]
        )
        self.encoder = encoder
        self.T = int(encoder.T)
        self.net = net(n_inputs=n_inputs, n_classes=n_classes, T=self.T)
        self.loss_fn = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.fallback = fallback
        if scheduler_interval not in ("step", "epoch"):
            raise ValueError(
                f"scheduler_interval must be 'step' or 'epoch', got {scheduler_interval!r}"
            )
        self.scheduler_interval = scheduler_interval
        if not 0.0 <= dead_neuron_min_rate < 1.0:
            raise ValueError(f"dead_neuron_min_rate must be in [0, 1), got {dead_neuron_min_rate}")
        self.dead_neuron_min_rate = dead_neuron_min_rate
        if dead_neuron_revival not in REVIVAL_MODES:
            raise ValueError(f"unknown dead_neuron_revival {dead_neuron_revival!r}; "
                             f"valid: {', '.join(REVIVAL_MODES)}")
        self.dead_neuron_revival = dead_neuron_revival
        if fallback not in FALLBACKS:
            raise ValueError(f"unknown fallback {fallback!r}; valid: {', '.join(FALLBACKS)}")
        names = [
            "loss",
            "acc",
            "acc_ties",
            "hidden_spikes",
            "hidden_spikes_before_decision",
            "decision_time",
            "no_output_spike_frac",
            "synops",
            *[f"spikes/layer{k}" for k in range(1, len(self.net.layers) + 1)],
        ]
        self.metric_names = names
        for stage in STAGES:
            setattr(self, f"{stage}_metrics", StageMeans(names))
        self.val_acc_best = MaxMetric()
        self.val_acc_best.persistent(True)
        for stage in STAGES:
            setattr(self, f"{stage}_fire_counts", torch.nn.ModuleList(
                FireCounts(layer.out_features) for layer in self.net.layers[:-1]
            ))

    def stage_metrics(self, stage: str) -> StageMeans:
        """The per-sample means of every metric of one stage (one metric object)."""
        return getattr(self, f"{stage}_metrics")

    def fire_counts(self, stage: str) -> torch.nn.ModuleList:
        """Per hidden layer, how many samples of the stage's epoch made each neuron fire."""
        return getattr(self, f"{stage}_fire_counts")

    def forward(self, x: torch.Tensor) -> NetOutput:
        """Raw batch -> network output (spike times of every layer)."""
        return self.net(self.encoder(x))

    def predict_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        x = batch[0] if isinstance(batch, (tuple, list)) else batch
        out = self(x)
        return decide(out.out_times, out.v_fire, out.v_end, self.T, self.fallback)

    @torch.no_grad()
    def predict_early_exit(self, x: torch.Tensor) -> torch.Tensor:
        """The decisions of ``predict_step``, each sample's simulation stopped at its first
        output spike (event-driven across layers for binarized nets on the CPU)."""
        return self.net.predict_early_exit(self.encoder(x), self.fallback)[0]

    def _step(self, batch: Any, stage: str) -> torch.Tensor:
        x, y = batch
        t_in = self.encoder(x)
        out = self.net(t_in)
        loss = self.loss_fn(out.out_times, y, self.T)
        pred = decide(out.out_times.detach(), out.v_fire, out.v_end, self.T, self.fallback)
        values = spike_statistics(t_in, out, self.T)
        values["no_output_spike_frac"] = values.pop("no_output_spike")
        values["acc"] = (pred == y).float()
        values["acc_ties"] = correct_with_ties(out.out_times.detach(), y, pred, self.T).float()
        values["loss"] = loss.detach()
        self.stage_metrics(stage).update(values, y.shape[0])
        for counter, times in zip(self.fire_counts(stage), out.hidden_times, strict=True):
            counter.update(times.detach() < self.T)
        if stage == "train":
            # per-step values for the progress bar and step curves, every log_every_n_steps
            # (a self.log call costs about as much as the network's forward); the epoch
            # means are logged once per epoch by _log_epoch
            if self.global_step % max(1, self.trainer.log_every_n_steps) == 0:
                self.log("train/loss_step", loss.detach(), prog_bar=True, batch_size=y.shape[0])
                self.log("train/acc_step", values["acc"].mean(), prog_bar=True,
                         batch_size=y.shape[0])
        return loss

    def _log_epoch(self, stage: str) -> dict[str, torch.Tensor]:
        """Log every metric of ``stage`` as its epoch mean (DDP-reduced), reset them and
        return the means ({} when this process saw no batch and runs alone)."""
        metrics = self.stage_metrics(stage)
        values: dict[str, torch.Tensor] = {}
        # every rank computes under DDP (compute() gathers), even one that saw no batch
        if metrics.update_count or self.trainer.world_size > 1:
            values = metrics.compute()
            if len(self.fire_counts(stage)):
                values["hidden_dead_frac"], values["hidden_saturated_frac"] = (
                    dead_and_saturated(self.fire_counts(stage))
                )
            for name, value in values.items():
                self.log(f"{stage}/{name}", value, prog_bar=name in ("loss", "acc"))
        metrics.reset()
        if stage != "train":
            for counter in self.fire_counts(stage):
                counter.reset()
        return values

    def training_step(self, batch: Any, batch_idx: int) -> torch.Tensor:
        return self._step(batch, "train")

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # after the optimiser step, whose weight gradients are still in .grad (Lightning zeroes
        # them before the next backward): BS4NN's fact rule reads them, then the constraints
        self.net.after_optimizer_step_()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        seen = self.stage_metrics("val").update_count > 0
        values = self._log_epoch("val")
        if seen and not self.trainer.sanity_checking:
            self.val_acc_best.update(values["acc"])
            self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        self._log_epoch("test")

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")
        if self.dead_neuron_min_rate > 0:
            for k, counter in enumerate(self.fire_counts("train")):
                counts, n = counter.compute()
                if n > 0:
                    dead = counts < self.dead_neuron_min_rate * n
                    self.log(f"train/reinit_neurons/layer{k + 1}", float(self._revive(k, dead)))
        for counter in self.fire_counts("train"):
            counter.reset()

    def _revive(self, k: int, dead: torch.Tensor) -> int:
        """Revive the ``dead`` neurons of hidden layer ``k`` (see the class docstring)."""
        if self.dead_neuron_revival == "incoming":
            return self.net.layers[k].reinit_neurons_(dead)
        touched = self.net.revive_neurons_(k, dead)
        for optimizer in self.trainer.optimizers:
            for param, index in touched:
                zero_optimizer_state_(optimizer, param, index)
        return int(dead.sum())

    def _run_length(self, interval: str) -> int:
        """The run's length in optimiser steps or epochs, for schedulers without T_max."""
        steps = self.trainer.estimated_stepping_batches
        if steps == float("inf") or steps <= 0:
            raise ValueError(
                "the learning-rate schedule spans the run, but this run has no bounded length: "
                "set trainer.max_epochs or trainer.max_steps, or fix model.scheduler.T_max"
            )
        if interval == "step":
            return int(steps)
        if self.trainer.max_epochs is not None and self.trainer.max_epochs > 0:
            return int(self.trainer.max_epochs)
        per_epoch = max(1, int(self.trainer.num_training_batches))
        return max(1, -(-int(steps) // per_epoch))

    def configure_optimizers(self) -> Any:
        trainer = self._trainer  # None when called outside a Trainer
        if self.net.has_step_rules and trainer is not None and trainer.accumulate_grad_batches != 1:
            raise ValueError(
                "threshold_mode bs4nn_fact updates fact after every optimiser step from that "
                "step's gradients: set trainer.accumulate_grad_batches=1"
            )
        optimizer = self.optimizer_factory(params=self.parameters())
        if self.scheduler_factory is None:
            return optimizer
        interval = self.scheduler_interval
        kwargs: dict[str, Any] = {}
        target = getattr(self.scheduler_factory, "func", self.scheduler_factory)
        fixed = getattr(self.scheduler_factory, "keywords", {})
        if "T_max" in inspect.signature(target).parameters and "T_max" not in fixed:
            # cosine annealing over the whole run unless the config fixes T_max
            kwargs["T_max"] = self._run_length(interval)
        scheduler = self.scheduler_factory(optimizer=optimizer, **kwargs)
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": interval},
        }
