"""LightningModule: encoder -> spiking network -> readout + loss, with spike metrics."""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytorch_lightning as pl
import torch
from torchmetrics import MaxMetric

from bstdg.encoding import SpikeEncoder
from bstdg.lit.metrics import FireCounts, StageMeans, dead_and_saturated
from bstdg.lit.online import check_online_module, online_training_step
from bstdg.lit.policies import HIDDEN_FIRED
from bstdg.snn.layers import NetOutput, SpikingNet
from bstdg.snn.neurobench import neurobench_metrics
from bstdg.snn.readout import FALLBACKS, correct_with_ties, decide
from bstdg.snn.spike_stats import spike_statistics, statistic_names

STAGES = ("train", "val", "test")


def run_length_arg(scheduler: Callable[..., Any]) -> str | None:
    """The argument of a scheduler class that the run's length fills when the config leaves
    it unset: ``T_max`` of any scheduler that takes one (CosineAnnealingLR), ``total_iters``
    of PolynomialLR (a decay to 0 whose natural end is the run's). LinearLR and ConstantLR
    also take ``total_iters``, but as the length of a warm-up or hold (5 steps unless set):
    they keep torch's default."""
    if "T_max" in inspect.signature(scheduler).parameters:
        return "T_max"
    if isinstance(scheduler, type) and issubclass(scheduler, torch.optim.lr_scheduler.PolynomialLR):
        return "total_iters"
    return None


def _layer_lr_scale(scale: Sequence[float] | None, n_layers: int) -> list[float] | None:
    """``layer_lr_scale`` checked: null, or one finite factor > 0 per layer."""
    if scale is None:
        return None
    values = list(scale) if not isinstance(scale, (int, float)) else [scale]
    if len(values) != n_layers or not all(
        isinstance(v, (int, float)) and math.isfinite(v) and v > 0 for v in values
    ):
        raise ValueError(
            f"layer_lr_scale needs one finite factor > 0 per layer ({n_layers}: hidden "
            f"layers, then the output layer), e.g. {[1.0] * n_layers}, or null; got {scale!r}"
        )
    return [float(v) for v in values]


class NonFiniteLossError(FloatingPointError):
    """The training loss became NaN or infinite; the run stops."""


class MissingPartsError(TypeError):
    """Neither net, encoder and loss nor a run_config holding them were given."""


def _plain(value: Any) -> Any:
    """A config (DictConfig/ListConfig) as plain containers, anything else unchanged."""
    from omegaconf import OmegaConf

    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def _from_config(run_config: Mapping[str, Any], key: str) -> Any:
    """Instantiate the part ``key`` (dotted, e.g. ``model.net``) of a stored run config,
    after checking that it names only the project's classes (or torch optimisers)."""
    import hydra
    from omegaconf import OmegaConf

    from bstdg.utils.instantiate import check_targets

    node: Any = run_config
    for part in key.split("."):
        node = node.get(part) if isinstance(node, Mapping) else None
    if node is None:
        return None
    check_targets(node, "the checkpoint's run_config", key)
    return hydra.utils.instantiate(OmegaConf.create(_plain(node)))


class SpikingClassifier(pl.LightningModule):
    """Train and evaluate a single-spike network with a spike-timing-dependent gradient.

    ``net`` is a partial :class:`SpikingNet` completed here with the data's input size and
    class count; ``encoder`` maps a batch of raw inputs to spike times (B, n_inputs);
    ``loss`` maps (output times, labels, T) to a scalar. Constraints (threshold clamp,
    latent clip) are applied after every optimiser step. The scheduler advances after every
    optimiser step; a scheduler partial without its length (``T_max`` of CosineAnnealingLR,
    ``total_iters`` of PolynomialLR; :func:`run_length_arg`) gets the run's length in steps.
    ``layer_lr_scale`` (one factor per layer, hidden first) gives each layer its own learning
    rate, the optimiser's ``lr`` times the factor. Training fails on a NaN/inf loss.

    The training policies (dead-neuron revival, threshold homeostasis, the dropout schedule,
    stop-on-silence) are callbacks: :mod:`bstdg.lit.policies`. They read the module's
    per-stage metrics (:meth:`epoch_means`, :meth:`fire_counts`) and the hidden spikes of
    each training batch (``training_step``'s output).

    ``run_config`` (plain dicts: the run's data, encoder, model, loss, seed, run name) is
    stored in the checkpoint, so that ``SpikingClassifier.load_from_checkpoint(path)`` and
    ``bstdg-eval`` rebuild the model from a lone ``.ckpt``; the parts not given are built
    from it.

    ``online`` trains by per-sample SGD, B steps per batch in one kernel call
    (:mod:`bstdg.lit.online`, Lightning's manual optimisation), equal to B batch-1 steps.
    """

    def __init__(
        self,
        net: Callable[..., SpikingNet] | None = None,
        encoder: SpikeEncoder | None = None,
        loss: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor] | None = None,
        optimizer: Callable[..., torch.optim.Optimizer] | None = None,
        n_inputs: int | None = None,
        n_classes: int | None = None,
        scheduler: Callable[..., Any] | None = None,
        fallback: str = "max_potential",
        run_config: Mapping[str, Any] | None = None,
        layer_lr_scale: Sequence[float] | None = None,
        online: bool = False,
    ) -> None:
        super().__init__()
        self.online = bool(online)
        self.automatic_optimization = not self.online
        run_config = _plain(run_config)  # stored as plain values (weights_only loading)
        layer_lr_scale = _plain(layer_lr_scale)
        self.save_hyperparameters(
            logger=False, ignore=["net", "encoder", "loss", "optimizer", "scheduler"]
        )
        if net is None:  # rebuilt from a checkpoint: the parts come from its run_config
            model_cfg = run_config.get("model") if isinstance(run_config, Mapping) else None
            if not isinstance(model_cfg, Mapping) or model_cfg.get("net") is None:
                raise MissingPartsError(
                    "SpikingClassifier needs net, encoder and loss, or a run_config holding "
                    "them (checkpoints written by bstdg-train carry it)"
                )
            net = _from_config(run_config, "model.net")
            encoder = encoder if encoder is not None else _from_config(run_config, "encoder")
            loss = loss if loss is not None else _from_config(run_config, "loss")
            if optimizer is None:
                optimizer = _from_config(run_config, "model.optimizer")
            if scheduler is None:
                scheduler = _from_config(run_config, "model.scheduler")
        if net is None or encoder is None or loss is None:
            raise TypeError("SpikingClassifier needs net, encoder and loss (or a run_config)")
        if n_inputs is None or n_classes is None:
            raise TypeError("SpikingClassifier needs n_inputs and n_classes")
        self.encoder = encoder
        self.T = int(encoder.T)
        self.net = net(n_inputs=n_inputs, n_classes=n_classes, T=self.T)
        self.loss_fn = loss
        self.optimizer_factory = optimizer
        self.scheduler_factory = scheduler
        self.fallback = fallback
        self.layer_lr_scale = _layer_lr_scale(layer_lr_scale, len(self.net.layers))
        if fallback not in FALLBACKS:
            raise ValueError(f"unknown fallback {fallback!r}; valid: {', '.join(FALLBACKS)}")
        names = ["loss", "acc", "acc_ties", *statistic_names(len(self.net.layers))]
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

    def _step(self, batch: Any, stage: str) -> dict[str, Any]:
        """The batch's loss and, per hidden layer, the (B, N) bool of which neuron fired on
        which sample (``HIDDEN_FIRED``); the stage's metrics are updated."""
        x, y = batch
        t_in = self.encoder(x)
        out = self.net(t_in)
        return self.record_step(stage, t_in, out, y, self.loss_fn(out.out_times, y, self.T))

    def record_step(self, stage: str, t_in: torch.Tensor, out: NetOutput, y: torch.Tensor,
                    loss: torch.Tensor) -> dict[str, Any]:
        """Update the stage's metrics from a batch's input times, network output, labels and
        loss; the output of :meth:`_step`."""
        if stage == "train" and not bool(torch.isfinite(loss)):
            raise NonFiniteLossError(
                f"train/loss is {loss.item()} at epoch {self.current_epoch}, step "
                f"{self.global_step}: training stops (it would write NaN into every weight). "
                f"Check loss.* and model.net.* for extreme values and lower "
                f"model.optimizer.lr."
            )
        pred = decide(out.out_times.detach(), out.v_fire, out.v_end, self.T, self.fallback)
        values = spike_statistics(t_in, out, self.T, self.net.fan_outs())
        values["acc"] = (pred == y).float()
        values["acc_ties"] = correct_with_ties(out.out_times.detach(), y, pred, self.T).float()
        values["loss"] = loss.detach()
        self.stage_metrics(stage).update(values, y.shape[0])
        fired = [times.detach() < self.T for times in out.hidden_times]
        for counter, hidden in zip(self.fire_counts(stage), fired, strict=True):
            counter.update(hidden)
        if stage == "train":
            # per-step values for the progress bar and step curves, every log_every_n_steps
            # (a self.log call costs about as much as the network's forward); the epoch
            # means are logged once per epoch by _log_epoch
            if self.global_step % max(1, self.trainer.log_every_n_steps) == 0:
                self.log("train/loss_step", loss.detach(), prog_bar=True, batch_size=y.shape[0])
                self.log("train/acc_step", values["acc"].mean(), prog_bar=True,
                         batch_size=y.shape[0])
        return {"loss": loss, HIDDEN_FIRED: fired}

    def epoch_means(self, stage: str) -> dict[str, torch.Tensor]:
        """The means of every metric of ``stage`` over the epoch so far (DDP-reduced), {}
        when this process saw no batch and runs alone. Computed once per epoch (torchmetrics
        keeps the result until the next update or reset)."""
        metrics = self.stage_metrics(stage)
        # every rank computes under DDP (compute() gathers), even one that saw no batch
        if metrics.update_count or self.trainer.world_size > 1:
            return dict(metrics.compute())
        return {}

    def _log_epoch(self, stage: str) -> dict[str, torch.Tensor]:
        """Log every metric of ``stage`` as its epoch mean (DDP-reduced), reset them and
        return the means ({} when this process saw no batch and runs alone)."""
        metrics = self.stage_metrics(stage)
        values = self.epoch_means(stage)
        if values:
            if len(self.fire_counts(stage)):
                values["hidden_dead_frac"], values["hidden_saturated_frac"] = (
                    dead_and_saturated(self.fire_counts(stage))
                )
            # the values are already reduced across DDP ranks (torchmetrics compute), so
            # sync_dist averages equal numbers; it only keeps Lightning from warning
            for name, value in values.items():
                self.log(f"{stage}/{name}", value, prog_bar=name in ("loss", "acc"),
                         sync_dist=True)
        metrics.reset()
        if stage != "train":
            for counter in self.fire_counts(stage):
                counter.reset()
        return values

    def training_step(self, batch: Any, batch_idx: int) -> dict[str, Any]:
        """The loss, with the batch's hidden spikes for the policies (see :meth:`_step`)."""
        if self.online:
            return online_training_step(self, batch)
        return self._step(batch, "train")

    def on_fit_start(self) -> None:
        if self.online:  # refuse an unsupported net or optimiser before the first batch
            check_online_module(self)

    def on_train_batch_end(self, outputs: Any, batch: Any, batch_idx: int) -> None:
        # after the optimiser step, whose weight gradients are still in .grad (Lightning zeroes
        # them before the next backward), and after the callbacks' hooks (threshold
        # homeostasis): BS4NN's fact rule reads the gradients, then the constraints (threshold
        # clamp, latent clip); the online kernel applies them after each sample itself
        if not self.online:
            self.net.after_optimizer_step_()

    def validation_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "val")

    def on_validation_epoch_end(self) -> None:
        seen = self.stage_metrics("val").update_count > 0
        values = self._log_epoch("val")
        if seen and not self.trainer.sanity_checking:
            self.val_acc_best.update(values["acc"])
            self.log("val/acc_best", self.val_acc_best.compute(), prog_bar=True, sync_dist=True)

    def test_step(self, batch: Any, batch_idx: int) -> None:
        self._step(batch, "test")

    def on_test_epoch_end(self) -> None:
        values = self._log_epoch("test")
        if values:  # NeuroBench's figures of the test set (bstdg.snn.neurobench)
            for name, value in neurobench_metrics(values, self.net).items():
                self.log(name, value, sync_dist=True)

    def on_train_epoch_end(self) -> None:
        self._log_epoch("train")
        for counter in self.fire_counts("train"):
            counter.reset()

    @classmethod
    def load_from_checkpoint(  # type: ignore[override]
        cls, checkpoint_path: str | Path, map_location: Any = None, **kwargs: Any
    ) -> SpikingClassifier:
        """Lightning's ``load_from_checkpoint``, reading with ``weights_only=True`` (only
        tensors and plain values are unpickled). The model is rebuilt from the run config
        stored in the checkpoint; pass ``net=``, ``encoder=``, ... to replace parts. Non-finite
        weights or thresholds are refused, and so is a checkpoint of an earlier bstdg, with
        the command that converts it (:meth:`on_load_checkpoint`)."""
        from bstdg.utils.checkpoint import (
            NO_RUN_CONFIG,
            NonFiniteCheckpointError,
            OutdatedCheckpointError,
            weights_only_kwargs,
        )

        load = super().load_from_checkpoint
        options = {**weights_only_kwargs(load), **kwargs}
        try:
            return load(checkpoint_path, map_location=map_location, **options)
        except (NonFiniteCheckpointError, OutdatedCheckpointError) as err:
            raise err.naming(checkpoint_path) from None
        except MissingPartsError:
            if "net" in kwargs:
                raise
            raise OutdatedCheckpointError(str(checkpoint_path), [NO_RUN_CONFIG]) from None

    def on_load_checkpoint(self, checkpoint: dict[str, Any]) -> None:
        """Refuse a checkpoint whose network weights or thresholds are NaN or inf, or one
        written by an earlier bstdg (whether it is loaded by ``load_from_checkpoint``, a
        resumed fit or ``trainer.test``)."""
        from bstdg.utils.checkpoint import check_current, check_finite_weights

        trainer = self._trainer
        source = getattr(trainer, "ckpt_path", None) if trainer is not None else None
        check_finite_weights(checkpoint, source or "being loaded")
        check_current(checkpoint, source or "being loaded")

    def _scheduler_length_arg(self) -> str | None:
        """:func:`run_length_arg` of the configured scheduler (a class or a partial of one)."""
        return run_length_arg(getattr(self.scheduler_factory, "func", self.scheduler_factory))

    def _run_length(self) -> int:
        """The run's length in optimiser steps, for a schedule that spans it."""
        steps = self.trainer.estimated_stepping_batches
        if steps == float("inf") or steps <= 0:
            name = self._scheduler_length_arg() or "T_max"
            raise ValueError(
                "the learning-rate schedule spans the run, but this run has no bounded length: "
                f"set trainer.max_epochs or trainer.max_steps, or fix model.scheduler.{name}"
            )
        return int(steps)

    def _param_groups(self) -> list[dict[str, Any]]:
        """The optimiser's parameter groups: all parameters in one group, or with
        ``layer_lr_scale`` one group per layer whose rate is the optimiser's ``lr`` times the
        layer's factor (then any other parameter at ``lr``)."""
        if self.layer_lr_scale is None:
            return [{"params": list(self.parameters())}]
        lr = getattr(self.optimizer_factory, "keywords", {}).get("lr")
        if lr is None:
            raise ValueError(
                "model.layer_lr_scale multiplies the optimiser's learning rate, but "
                "model.optimizer sets no lr: add model.optimizer.lr (or "
                "model.layer_lr_scale=null)"
            )
        groups = [{"params": list(layer.parameters()), "lr": lr * scale}
                  for layer, scale in zip(self.net.layers, self.layer_lr_scale, strict=True)]
        grouped = {id(p) for group in groups for p in group["params"]}
        rest = [p for p in self.parameters() if id(p) not in grouped]
        return groups + ([{"params": rest}] if rest else [])

    def configure_optimizers(self) -> Any:
        trainer = self._trainer  # None when called outside a Trainer
        if self.net.has_step_rules and trainer is not None and trainer.accumulate_grad_batches != 1:
            raise ValueError(
                "threshold_mode bs4nn_fact updates fact after every optimiser step from that "
                "step's gradients: set trainer.accumulate_grad_batches=1"
            )
        optimizer, scheduler = self.optimizer_and_scheduler(self._run_length)
        if scheduler is None:
            return optimizer
        return {
            "optimizer": optimizer,
            "lr_scheduler": {"scheduler": scheduler, "interval": "step"},
        }

    def optimizer_and_scheduler(
        self, run_length: Callable[[], int]
    ) -> tuple[torch.optim.Optimizer, Any]:
        """The configured optimiser over this model's parameters and its scheduler (None
        without one). A scheduler partial without its length (:func:`run_length_arg`)
        spans ``run_length()`` optimiser steps; ``run_length`` is called only then."""
        if self.optimizer_factory is None:
            raise ValueError(
                "this model has no optimizer (its run_config has no model.optimizer): pass "
                "optimizer= when building it to train it"
            )
        optimizer = self.optimizer_factory(params=self._param_groups())
        if self.scheduler_factory is None:
            return optimizer, None
        kwargs: dict[str, Any] = {}
        fixed = getattr(self.scheduler_factory, "keywords", {})
        name = self._scheduler_length_arg()
        if name is not None and name not in fixed:
            # the schedule spans the whole run unless the config fixes its length
            kwargs[name] = run_length()
        return optimizer, self.scheduler_factory(optimizer=optimizer, **kwargs)
