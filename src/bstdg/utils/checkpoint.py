"""Checkpoints: safe reading (``weights_only=True``), the finite-weight check and the run
config stored in them. Rebuilding the model from one: :mod:`bstdg.loading`."""

from __future__ import annotations

import inspect
import json
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from bstdg.utils.checks import ConfigError

# The keys of a run config that make up a model and how it was fed (stored in checkpoints).
RUN_KEYS = ("data", "encoder", "model", "loss", "seed", "run_name", "tags")
# The sections instantiated from a saved config (checked by ``check_targets``).
BUILT_KEYS = ("data", "encoder", "model", "loss")
# Sections kept with their interpolations (``${paths.data_dir}``, ``${seed}``), so that a
# checkpoint evaluated elsewhere reads the data from that machine's data folder.
UNRESOLVED_KEYS = ("data",)


class CheckpointError(ConfigError):
    """A checkpoint cannot be read or rebuilt; the message names the file and the fix."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """The checkpoint file does not exist."""


class NonFiniteCheckpointError(CheckpointError):
    """A checkpoint's network weights or thresholds hold NaN or inf values."""

    def __init__(self, source: str, section: str, name: str, n_bad: int, n: int) -> None:
        self.section, self.name, self.n_bad, self.n = section, name, n_bad, n
        super().__init__(
            f"checkpoint {source} is refused: {section}[{name!r}] holds {n_bad} non-finite "
            f"value(s) (NaN or inf) of {n}; a network's weights and thresholds must be finite "
            f"(such a model decides nothing). The run that wrote it diverged, or the file was "
            f"altered: use an earlier checkpoint of the run (checkpoints/epoch_*.ckpt)."
        )

    def naming(self, source: str | Path) -> NonFiniteCheckpointError:
        """The same error, naming ``source`` as the checkpoint."""
        return NonFiniteCheckpointError(str(source), self.section, self.name, self.n_bad, self.n)


# The sections of a checkpoint that hold model weights (``current_model_state``: the trained
# weights of a callbacks=ema run, whose state_dict holds the average) and the prefix of the
# network's entries in them. Only the network is checked: a metric state may be -inf
# legitimately (``val_acc_best`` before the first validation).
WEIGHT_SECTIONS = ("state_dict", "current_model_state")
NET_PREFIX = "net."


class OutdatedCheckpointError(CheckpointError):
    """A checkpoint that cannot be rebuilt as it is: written by an earlier bstdg, or holding
    no run config; the message gives the command that converts it (``python -m
    bstdg.convert``)."""

    def __init__(self, source: str, parts: list[str]) -> None:
        self.parts = parts
        super().__init__(
            f"checkpoint {source} cannot be used as it is ({'; '.join(parts)}). Convert it "
            f"once: python -m bstdg.convert {source} (in place; the original is kept beside "
            f"it as .bak)."
        )

    def naming(self, source: str | Path) -> OutdatedCheckpointError:
        """The same error, naming ``source`` as the checkpoint."""
        return OutdatedCheckpointError(str(source), self.parts)


# The model settings of the run configs (and hyperparameters) written before the training
# policies became callbacks (conf/callbacks/policies/) and the scheduler always advanced per
# optimiser step.
MOVED_MODEL_KEYS = ("dead_neuron_min_rate", "dead_neuron_revival", "threshold_homeostasis",
                    "homeostasis_target", "dropout_until", "stop_on_silence",
                    "scheduler_interval")
NO_RUN_CONFIG = ("no run config in its hyperparameters: the conversion takes its run "
                 "folder's .hydra/config.yaml")


def outdated_parts(checkpoint: Mapping[str, Any]) -> list[str]:
    """What marks ``checkpoint`` as written by an earlier bstdg: model settings that have
    moved since ([] for a current checkpoint)."""
    hparams = checkpoint.get("hyper_parameters") or {}
    stored = hparams.get("run_config")
    model = stored.get("model") if isinstance(stored, Mapping) else None
    model = model if isinstance(model, Mapping) else {}
    found = [key for key in MOVED_MODEL_KEYS if key in model or key in hparams]
    if not found:
        return []
    return [f"written by an earlier bstdg, with model settings that moved: "
            f"{', '.join(found)} (the training policies are callbacks now, "
            f"conf/callbacks/policies/)"]


def check_current(checkpoint: Mapping[str, Any], source: str | Path) -> None:
    """Refuse a checkpoint written by an earlier bstdg, with the one command that converts
    it."""
    parts = outdated_parts(checkpoint)
    if parts:
        raise OutdatedCheckpointError(str(source), parts)


def stored_run_config(checkpoint: Mapping[str, Any], source: str | Path) -> DictConfig:
    """The run config ``checkpoint`` carries in its hyperparameters; a checkpoint without
    one (or of an earlier bstdg) gets the command that converts it."""
    check_current(checkpoint, source)
    stored = (checkpoint.get("hyper_parameters") or {}).get("run_config")
    if not isinstance(stored, Mapping):
        raise OutdatedCheckpointError(str(source), [NO_RUN_CONFIG])
    return OmegaConf.create(dict(stored))


def check_finite_weights(checkpoint: Mapping[str, Any], source: str | Path) -> None:
    """Refuse a checkpoint whose network weights or thresholds (``net.*`` floating-point
    entries) hold NaN or inf; the error names ``source`` and the entry."""
    for section in WEIGHT_SECTIONS:
        state = checkpoint.get(section)
        if not isinstance(state, Mapping):
            continue
        for name, tensor in state.items():
            if (str(name).startswith(NET_PREFIX) and isinstance(tensor, torch.Tensor)
                    and tensor.is_floating_point()):
                finite = torch.isfinite(tensor)
                if not bool(finite.all()):
                    raise NonFiniteCheckpointError(str(source), section, str(name),
                                                   int((~finite).sum()), tensor.numel())


def weights_only_kwargs(fn: Callable[..., Any]) -> dict[str, Any]:
    """``{"weights_only": True}`` when ``fn`` (a Lightning entry point) takes it, else {}."""
    try:
        params = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}
    return {"weights_only": True} if "weights_only" in params else {}


def read_checkpoint(path: str | Path, current: bool = True) -> dict[str, Any]:
    """Load a Lightning checkpoint onto the CPU with ``torch.load(weights_only=True)``: only
    tensors and plain values are unpickled, so a tampered file cannot run code. A checkpoint
    whose network weights or thresholds are not finite is refused
    (:func:`check_finite_weights`), and so is one written by an earlier bstdg unless
    ``current`` is False (:func:`check_current`)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointNotFoundError(
            f"checkpoint not found: {path}. Pass ckpt_path=<run dir>/checkpoints/last.ckpt "
            f"(or the best epoch_*.ckpt) of a bstdg-train run."
        )
    try:
        checkpoint = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise CheckpointError(
            f"checkpoint {path} is refused: it holds objects other than tensors and plain "
            f"values ({first}). Checkpoints written by bstdg-train load safely; this file was "
            f"written by something else or altered."
        ) from exc
    except (RuntimeError, EOFError, OSError, ValueError) as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise CheckpointError(
            f"checkpoint {path} cannot be read ({type(exc).__name__}: {first}); it is "
            f"truncated or not a PyTorch checkpoint. Use another checkpoint of the run "
            f"(checkpoints/last.ckpt or epoch_*.ckpt)."
        ) from exc
    if not isinstance(checkpoint, dict) or "state_dict" not in checkpoint:
        raise CheckpointError(
            f"checkpoint {path} is not a Lightning checkpoint (no state_dict); pass a .ckpt "
            f"written by bstdg-train."
        )
    check_finite_weights(checkpoint, path)
    if current:
        check_current(checkpoint, path)
    return checkpoint


def _plain(node: Any, resolve: bool) -> Any:
    if not OmegaConf.is_config(node):
        return node
    try:
        return OmegaConf.to_container(node, resolve=resolve)
    except Exception:  # an interpolation that only resolves inside a Hydra app
        return OmegaConf.to_container(node, resolve=False)


def run_config_of(cfg: DictConfig) -> dict[str, Any]:
    """What a checkpoint stores of its run (``run_config`` hyperparameter): the data, encoder,
    model and loss sections, seed, run name and tags as plain values (data keeps its
    interpolations, the others are resolved)."""
    return {key: _plain(cfg[key], key not in UNRESOLVED_KEYS) for key in RUN_KEYS if key in cfg}


def pick_checkpoint(run_dir: Path) -> Path:
    """The checkpoint of a run folder that its test metrics come from: the best epoch named
    in metrics.json when it is there, else checkpoints/last.ckpt."""
    ckpts = run_dir / "checkpoints"
    try:
        record = json.loads((run_dir / "metrics.json").read_text())
        best = record.get("best_ckpt_path") if isinstance(record, dict) else None
    except (OSError, ValueError):
        best = None
    if best and (ckpts / Path(str(best)).name).is_file():
        return ckpts / Path(str(best)).name
    if (ckpts / "last.ckpt").is_file():
        return ckpts / "last.ckpt"
    found = sorted(ckpts.glob("*.ckpt")) if ckpts.is_dir() else []
    if found:
        return found[-1]
    raise CheckpointNotFoundError(
        f"no checkpoint in {ckpts}: pass a run folder written by bstdg-train (with "
        f"checkpoints/last.ckpt) or the path of a .ckpt file."
    )
