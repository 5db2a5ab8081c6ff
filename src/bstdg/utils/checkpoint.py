"""Checkpoints: safe reading (``weights_only=True``), the run config stored in them, and
:func:`load_run` (model, encoder and config of a run folder or a lone ``.ckpt``)."""

from __future__ import annotations

import inspect
import json
import pickle
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any, NamedTuple

import torch
from omegaconf import DictConfig, OmegaConf

from bstdg.utils.checks import ConfigError
from bstdg.utils.instantiate import check_targets

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


def read_checkpoint(path: str | Path) -> dict[str, Any]:
    """Load a Lightning checkpoint onto the CPU with ``torch.load(weights_only=True)``: only
    tensors and plain values are unpickled, so a tampered file cannot run code. A checkpoint
    whose network weights or thresholds are not finite is refused
    (:func:`check_finite_weights`)."""
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


def run_folder_config(ckpt: Path) -> tuple[DictConfig, Path] | None:
    """The ``.hydra/config.yaml`` of the run folder holding ``ckpt`` (``RUN/checkpoints/x``)."""
    path = ckpt.resolve().parent.parent / ".hydra" / "config.yaml"
    if not path.is_file():
        return None
    cfg = OmegaConf.load(path)
    if not isinstance(cfg, DictConfig):
        raise CheckpointError(f"{path} is not a mapping; it is not a bstdg run config")
    return cfg, path


def stored_run_config(checkpoint: Mapping[str, Any]) -> DictConfig | None:
    """The run config a checkpoint carries in its hyperparameters (None for older ones)."""
    stored = (checkpoint.get("hyper_parameters") or {}).get("run_config")
    return OmegaConf.create(dict(stored)) if isinstance(stored, Mapping) else None


def old_checkpoint_error(ckpt: Path) -> CheckpointError:
    return CheckpointError(
        f"checkpoint {ckpt} does not say how its model was built: it was written by an older "
        f"bstdg (no run_config in its hyperparameters) and no run folder config was found at "
        f"{ckpt.resolve().parent.parent / '.hydra' / 'config.yaml'}. Put it back in its run "
        f"folder (RUN/checkpoints/{ckpt.name}), or retrain: checkpoints written now carry "
        f"their settings."
    )


def config_for_checkpoint(ckpt: Path, checkpoint: Mapping[str, Any]) -> tuple[DictConfig, str]:
    """(run config, where it came from) of a checkpoint: the one stored in it, else the run
    folder's ``.hydra/config.yaml``. Every ``_target_`` in it is checked."""
    cfg = stored_run_config(checkpoint)
    source = f"checkpoint {ckpt}"
    if cfg is None:
        found = run_folder_config(ckpt)
        if found is None:
            raise old_checkpoint_error(ckpt)
        cfg, path = found
        source = str(path)
    for key in BUILT_KEYS:
        if key in cfg:
            check_targets(cfg[key], source, key)
    from bstdg.data.config import drop_legacy_size_keys

    drop_legacy_size_keys(cfg.get("data"))  # data.n_inputs/n_classes of earlier versions
    return cfg, source


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


class LoadedRun(NamedTuple):
    """What :func:`load_run` returns."""

    model: Any  # bstdg.lit.module.SpikingClassifier, in eval mode
    encoder: Any  # the model's encoder: raw batch -> spike times
    config: DictConfig  # the run config (data, encoder, model, loss, seed, run_name, tags)
    ckpt_path: Path


def instantiate_model(cfg: DictConfig, n_inputs: int, n_classes: int, **parts: Any) -> Any:
    """Instantiate ``cfg.model`` for the given sizes, with ``parts`` (``encoder``, ``loss``)
    and ``run_config`` = ``cfg``'s (plain values, passed past Hydra so that its ``_target_``
    entries are stored, not instantiated), so that a checkpoint carries its settings."""
    import hydra

    factory = hydra.utils.instantiate(
        cfg.model, _partial_=True, n_inputs=int(n_inputs), n_classes=int(n_classes), **parts
    )
    return factory(run_config=run_config_of(cfg))


def build_model(cfg: DictConfig, n_inputs: int, n_classes: int) -> Any:
    """The run's model (``cfg.model`` with its encoder and loss) for the given sizes."""
    import hydra

    for key in ("encoder", "model", "loss"):
        if key not in cfg:
            raise CheckpointError(f"the run config has no '{key}' section")
    return instantiate_model(
        cfg, n_inputs, n_classes,
        encoder=hydra.utils.instantiate(cfg.encoder), loss=hydra.utils.instantiate(cfg.loss),
    )


def load_run(path: str | Path) -> LoadedRun:
    """Model, encoder and config of a trained run, for notebooks.

    ``path`` is a run folder (its best checkpoint, else ``checkpoints/last.ckpt``) or a
    ``.ckpt`` file; a lone checkpoint written by this version carries its own settings. The
    checkpoint is read with ``weights_only=True``, only the classes allowed at each key are
    instantiated (``bstdg.utils.instantiate.ALLOWED_CLASSES``) and non-finite network weights
    or thresholds are refused. The model is on the CPU, in eval mode::

        model, encoder, cfg, _ = bstdg.load_run("logs/train/runs/<run>")
        pred = model.predict_step(x, 0)   # x: raw uint8 batch (B, n_inputs)
    """
    path = Path(path)
    ckpt = pick_checkpoint(path) if path.is_dir() else path
    checkpoint = read_checkpoint(ckpt)
    hparams = checkpoint.get("hyper_parameters") or {}
    cfg, source = config_for_checkpoint(ckpt, checkpoint)
    if "n_inputs" not in hparams or "n_classes" not in hparams:
        raise CheckpointError(
            f"checkpoint {ckpt} has no n_inputs/n_classes hyperparameters; it was not written "
            f"by bstdg-train"
        )
    model = build_model(cfg, hparams["n_inputs"], hparams["n_classes"])
    try:
        model.load_state_dict(checkpoint["state_dict"])
    except RuntimeError as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise CheckpointError(
            f"checkpoint {ckpt} does not fit the model described by {source} ({first})"
        ) from exc
    model.eval()
    return LoadedRun(model, model.encoder, cfg, ckpt)
