"""Lightning's W&B logger with the platform's metric axes and checkpoint artifacts that
also work offline."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytorch_lightning.callbacks import ModelCheckpoint
from pytorch_lightning.loggers.wandb import WandbLogger as LightningWandbLogger
from pytorch_lightning.utilities import rank_zero_only

from bstdg.tracking.metric_axes import MetricAxes
from bstdg.utils.checks import ConfigError

LOG_MODEL_CHOICES = (True, False, "all")
BEST_KEY = "val/acc_best"


def _float(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


class WandbLogger(LightningWandbLogger):
    """``pytorch_lightning.loggers.WandbLogger`` plus:

    * every logged key is defined (x-axis, summary) before its first value: see
      :mod:`bstdg.tracking.metric_axes`;
    * ``log_model`` logs checkpoints as artifacts ``model-<run id>`` (type ``model``) also
      offline (synced later with ``wandb sync``): ``true`` logs the best and the last
      checkpoint when fitting ends (aliases ``best`` / ``last``; when both are one file,
      one version carries both), ``"all"`` every checkpoint as it is saved;
      ``val/acc_best``, the monitored metric, its score and the file name
      (``epoch_NNN.ckpt``) go into the artifact's metadata. With
      ``add_file_policy="immutable"`` the artifact refers to the file in the run's
      ``checkpoints/`` (keep it until the run is synced) instead of a copy.
    """

    def __init__(self, log_model: bool | str = False, **kwargs: Any) -> None:
        if log_model not in LOG_MODEL_CHOICES:
            raise ConfigError(
                f"logger.wandb.log_model={log_model!r} is invalid: use true (best and last "
                f"checkpoint when fitting ends), 'all' (every checkpoint) or false."
            )
        super().__init__(log_model=False, **kwargs)
        if self._wandb_init.get("anonymous") is None:
            # Lightning always passes it; wandb warns that the setting is deprecated
            self._wandb_init.pop("anonymous", None)
        self._artifact_mode = log_model
        self._axes = MetricAxes()
        self._best_value: float | None = None
        self._watched: dict[int, ModelCheckpoint] = {}
        self._logged_files: dict[str, tuple[float, tuple[str, ...]]] = {}

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        metrics = dict(metrics)
        best = _float(metrics.get(BEST_KEY))
        if best is not None:
            self._best_value = best
        join = self.LOGGER_JOIN_CHAR
        self._axes.define(self.experiment,
                          [f"{self._prefix}{join}{k}" if self._prefix else k for k in metrics])
        super().log_metrics(metrics, step)

    def define_metrics(self, keys: list[str]) -> None:
        """Define ``keys`` (media logged straight to ``experiment``) like logged metrics."""
        self._axes.define(self.experiment, keys)

    def after_save_checkpoint(self, checkpoint_callback: ModelCheckpoint) -> None:
        if self._artifact_mode == "all":
            self._log_checkpoints(checkpoint_callback)
        elif self._artifact_mode:
            self._watched[id(checkpoint_callback)] = checkpoint_callback

    @rank_zero_only
    def finalize(self, status: str) -> None:
        super().finalize(status)
        if status == "success" and self._experiment is not None:
            for callback in list(self._watched.values()):
                self._log_checkpoints(callback)

    def _metadata(self, callback: ModelCheckpoint, path: str) -> dict[str, Any]:
        score = callback.best_k_models.get(path)
        if score is None and path == callback.best_model_path:
            score = callback.best_model_score
        best = self._best_value
        if best is None and callback.monitor == "val/acc":
            best = _float(callback.best_model_score)
        return {BEST_KEY: best, "monitor": callback.monitor, "mode": callback.mode,
                "score": _float(score), "original_filename": Path(path).name}

    @rank_zero_only
    def _log_checkpoints(self, callback: ModelCheckpoint) -> None:
        """Log the best and last checkpoint files not logged in their present state."""
        import wandb

        aliases: dict[str, list[str]] = {}
        for path, alias in ((callback.best_model_path, "best"),
                            (callback.last_model_path, "last")):
            if path and Path(path).is_file():
                aliases.setdefault(str(path), []).append(alias)
        run = self.experiment
        policy = "mutable" if self._artifact_mode == "all" else self.add_file_policy
        for path, names in aliases.items():
            state = (Path(path).stat().st_mtime, tuple(names))
            if self._logged_files.get(path) == state:
                continue
            artifact = wandb.Artifact(name=self._checkpoint_name or f"model-{run.id}",
                                      type="model", metadata=self._metadata(callback, path))
            artifact.add_file(path, name="model.ckpt", policy=policy)
            run.log_artifact(artifact, aliases=names)
            self._logged_files[path] = state
