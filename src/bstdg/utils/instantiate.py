"""Instantiate callbacks and loggers from config groups (LHT style), and guard what a saved
run config may instantiate."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping
from typing import Any

import hydra
import pytorch_lightning as pl
from omegaconf import DictConfig, ListConfig
from omegaconf.errors import OmegaConfBaseException
from pytorch_lightning.loggers import Logger
from pytorch_lightning.utilities import rank_zero_warn

from bstdg.utils.checks import ConfigError

# What a config that comes from a run folder or a checkpoint may instantiate. Three checks,
# all on the object the name leads to (never on the text alone, and without relying on
# Hydra's own blocklist):
#   1. the name lies in ALLOWED_PACKAGES and leads to a class (a function or method, such as
#      ``torch.load`` or ``...load_from_checkpoint``, is never called);
#   2. the class is defined in ALLOWED_PACKAGES (``obj.__module__``), and the name is its own:
#      ``obj.__module__ + "." + obj.__qualname__``, or the package re-export of it
#      (``bstdg.snn.SpikingNet`` for ``bstdg.snn.layers.SpikingNet``, ``torch.optim.Adam``);
#      no attribute hops through what a module imports (``bstdg.report.tables.Path``);
#   3. the class is one of those allowed at that key (ALLOWED_CLASSES).
ALLOWED_PACKAGES = ("bstdg", "torch.optim", "tonic.datasets")

# The classes allowed at each key of a saved config, by their own names. TORCH_OPTIMIZERS and
# TORCH_SCHEDULERS stand for every public optimiser class of ``torch.optim`` and every
# scheduler class of ``torch.optim.lr_scheduler`` (the README promises any scheduler).
TORCH_OPTIMIZERS = "<every torch.optim optimiser>"
TORCH_SCHEDULERS = "<every torch.optim.lr_scheduler scheduler>"
TONIC_DATASETS = "<every tonic.datasets dataset class>"  # data=tonic's data.dataset
ALLOWED_CLASSES: dict[str, tuple[str, ...]] = {
    "data": (
        "bstdg.data.mnist.MNISTDataModule",
        "bstdg.data.shd.SHDDataModule",
        "bstdg.data.synthetic.SyntheticDataModule",
        "bstdg.data.caltech.CaltechFaceMotorbikeDataModule",
        "bstdg.data.tonic_events.TonicDataModule",
    ),
    "data.dataset": (TONIC_DATASETS,),
    "encoder": (
        "bstdg.encoding.encoders.LatencyEncoder",
        "bstdg.encoding.encoders.SHDFirstSpikeEncoder",
    ),
    "loss": (
        "bstdg.snn.losses.RelativeTargetMSE",
        "bstdg.snn.losses.NegTimeCrossEntropy",
    ),
    "model": ("bstdg.lit.module.SpikingClassifier",),
    "model.net": ("bstdg.snn.layers.SpikingNet",),
    "model.net.rule": ("bstdg.snn.rules.GradientRule",),
    "model.optimizer": (TORCH_OPTIMIZERS,),
    "model.scheduler": (TORCH_SCHEDULERS,),
}


class UnsafeTargetError(ConfigError):
    """A saved config names a ``_target_`` that is not a class allowed at its key
    (:data:`ALLOWED_CLASSES`); the message names the key."""


def _in_packages(name: str) -> bool:
    return any(name == p or name.startswith(f"{p}.") for p in ALLOWED_PACKAGES)


def _canonical(obj: type) -> str:
    return f"{obj.__module__}.{obj.__qualname__}"


def _torch_optimizers() -> set[type]:
    import torch.optim

    names = [n for n in getattr(torch.optim, "__all__", dir(torch.optim)) if n[:1] != "_"]
    found = {getattr(torch.optim, n, None) for n in names}
    return {c for c in found if isinstance(c, type) and issubclass(c, torch.optim.Optimizer)
            and c is not torch.optim.Optimizer}


def _torch_schedulers() -> set[type]:
    from torch.optim import lr_scheduler

    bases = tuple(b for b in (getattr(lr_scheduler, "LRScheduler", None),
                              getattr(lr_scheduler, "ReduceLROnPlateau", None)) if b)
    return {c for name, c in vars(lr_scheduler).items()
            if name[:1] != "_" and isinstance(c, type) and c.__module__ == lr_scheduler.__name__
            and issubclass(c, bases) and name not in ("LRScheduler",)}


def _tonic_datasets() -> set[type]:
    import tonic.dataset
    import tonic.datasets

    return {c for c in vars(tonic.datasets).values()
            if isinstance(c, type) and issubclass(c, tonic.dataset.Dataset)}


@functools.cache
def allowed_classes(key: str) -> frozenset[type] | None:
    """The classes a saved config may instantiate at ``key`` (``model.net``), or None when
    no class may be instantiated there."""
    names = ALLOWED_CLASSES.get(key)
    if names is None:
        return None
    classes: set[type] = set()
    for name in names:
        if name == TORCH_OPTIMIZERS:
            classes |= _torch_optimizers()
        elif name == TORCH_SCHEDULERS:
            classes |= _torch_schedulers()
        elif name == TONIC_DATASETS:
            classes |= _tonic_datasets()
        else:
            module, _, attr = name.rpartition(".")
            classes.add(getattr(importlib.import_module(module), attr))
    return frozenset(classes)


def _describe(key: str) -> str:
    return ", ".join(
        "the torch.optim optimisers" if n == TORCH_OPTIMIZERS
        else "the torch.optim.lr_scheduler schedulers" if n == TORCH_SCHEDULERS
        else "the tonic.datasets classes" if n == TONIC_DATASETS else n
        for n in ALLOWED_CLASSES[key]
    )


def _resolve(target: str) -> tuple[str, list[str], Any]:
    """(module name, attribute path, object) of a dotted name: the longest importable module
    prefix, then attribute lookups (no calls). Only called on names in ALLOWED_PACKAGES."""
    parts = target.split(".")
    if not all(part.isidentifier() for part in parts):
        raise ImportError("it is not a dotted Python name")
    for i in range(len(parts) - 1, 0, -1):
        name = ".".join(parts[:i])
        if not _in_packages(name):
            break  # never import a module outside ALLOWED_PACKAGES
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and (name == exc.name or name.startswith(f"{exc.name}.")):
                continue  # not a module: try a shorter prefix
            raise
        obj: Any = module
        for attr in parts[i:]:
            obj = getattr(obj, attr)
        return name, parts[i:], obj
    raise ImportError(f"{target!r} is not a module's attribute")


def _own_name(target: str, module: str, attrs: list[str], obj: type) -> bool:
    """Whether ``target`` is the class's own name or its re-export by a package that
    contains the defining module (``bstdg.snn.SpikingNet``), not a hop through an import."""
    if target == _canonical(obj):
        return True
    return (obj.__module__.startswith(f"{module}.") and attrs == [obj.__name__]
            and obj.__qualname__ == obj.__name__)


def _group(target_key: str) -> str:
    """``model.net._target_`` -> ``model.net``."""
    return target_key[: -len("._target_")] if target_key.endswith("._target_") else ""


def _allowed(target: str, key: str) -> str | None:
    """Why ``target`` may not be instantiated at ``key``, or None when it may."""
    if not _in_packages(target):
        return "it is not one of the project's classes"
    try:
        module, attrs, obj = _resolve(target)
    except Exception as exc:  # ImportError, AttributeError, an error inside the module
        first = (str(exc).splitlines() or [""])[0]
        return f"it cannot be imported ({type(exc).__name__}: {first})"
    if not isinstance(obj, type):
        return "it is not a class (functions and methods are never called from a saved config)"
    if not _in_packages(str(getattr(obj, "__module__", ""))):
        return (f"it is not one of the project's classes: the name leads to "
                f"{_canonical(obj)}, which a project module imports from outside "
                f"{', '.join(ALLOWED_PACKAGES)}")
    if not _own_name(target, module, attrs, obj):
        return (f"it reaches {_canonical(obj)} through an attribute hop (a name that {module} "
                f"imports); a saved config must name the class itself: "
                f"_target_: {_canonical(obj)}")
    allowed = allowed_classes(key)
    if allowed is None:
        return (f"no class may be instantiated at {key or 'the top level'} (classes are "
                f"allowed at {', '.join(ALLOWED_CLASSES)} only)")
    if obj not in allowed:
        return f"it is not one of the classes allowed at {key} ({_describe(key)})"
    return None


def _walk_targets(node: Any, key: str) -> list[tuple[str, Any]]:
    """(dotted key, value) of every ``_target_`` under ``node`` (interpolations resolved)."""
    found: list[tuple[str, Any]] = []
    if isinstance(node, (DictConfig, Mapping)):
        keys = list(node.keys())
        for name in keys:
            sub_key = f"{key}.{name}" if key else str(name)
            try:
                value = node[name]
            except OmegaConfBaseException as exc:
                if name == "_target_":
                    found.append((sub_key, f"<unresolvable: {exc}>"))
                continue
            if name == "_target_":
                found.append((sub_key, value))
            else:
                found += _walk_targets(value, sub_key)
    elif isinstance(node, (ListConfig, list, tuple)):
        for i in range(len(node)):
            try:
                value = node[i]
            except OmegaConfBaseException:
                continue
            found += _walk_targets(value, f"{key}[{i}]")
    return found


def check_targets(node: Any, source: str, key: str = "") -> None:
    """Refuse ``node`` (a config or plain container read from ``source``) if any of its
    ``_target_`` entries is not a class allowed at its key (:data:`ALLOWED_CLASSES`);
    the error names the key and the target. ``key`` is the dotted key of ``node`` in the run
    config (``model.net``)."""
    for target_key, target in _walk_targets(node, key):
        why = (
            "it is not a string" if not isinstance(target, str)
            else _allowed(target, _group(target_key))
        )
        if why is not None:
            raise UnsafeTargetError(
                f"{source}: {target_key}={target!r} is refused: {why}. A saved run config may "
                f"only instantiate, at each key, the project's classes for it (data, encoder, "
                f"loss, model, model.net), the torch.optim optimisers (model.optimizer) and "
                f"schedulers (model.scheduler), each named by its own module and class (or by the "
                f"package that exports it: bstdg.snn.SpikingNet, torch.optim.Adam). "
                f"Remove or fix that entry, or evaluate a run folder you trust."
            )


def _is_lightning_wandb(cfg: DictConfig) -> bool:
    """Whether a logger config builds Lightning's own W&B logger."""
    target = str(cfg.get("_target_", ""))
    return target.split(".")[-1] == "WandbLogger" and target.startswith("pytorch_lightning.")


def _is_wandb(cfg: DictConfig) -> bool:
    """Whether a logger config builds Lightning's W&B logger or a subclass of it."""
    if _is_lightning_wandb(cfg):
        return True
    try:
        cls = hydra.utils.get_class(str(cfg.get("_target_", "")))
    except Exception:  # not a class: instantiation reports it
        return False
    from pytorch_lightning.loggers import WandbLogger

    return isinstance(cls, type) and issubclass(cls, WandbLogger)


def _logger_kwargs(cfg: DictConfig, wandb_defaults: Mapping[str, Any]) -> dict[str, Any]:
    """Overrides for one logger. A W&B logger gets ``wandb_defaults`` (``name``, ``group``)
    for the keys its config leaves null. Lightning's own W&B logger cannot upload
    checkpoints offline, so its ``log_model`` is dropped there (with a warning) instead of
    failing the run; the project's logger (``bstdg.tracking.logger.WandbLogger``) logs them
    as offline artifacts."""
    if not _is_wandb(cfg):
        return {}
    kwargs = {k: v for k, v in wandb_defaults.items() if cfg.get(k) is None}
    if _is_lightning_wandb(cfg) and cfg.get("offline", False) and cfg.get("log_model", False):
        rank_zero_warn(
            "logger.wandb.log_model is ignored in offline mode by "
            "pytorch_lightning's WandbLogger (it uploads no checkpoint offline); the "
            "checkpoints stay in the run's checkpoints/ folder. The default logger "
            "(bstdg.tracking.logger.WandbLogger) logs them as offline artifacts."
        )
        kwargs["log_model"] = False
    return kwargs


def _targets(cfg: DictConfig | None, kind: str,
             wandb_defaults: Mapping[str, Any] | None = None) -> list:
    if not cfg:
        return []
    if not isinstance(cfg, DictConfig):
        raise TypeError(f"the {kind} config must be a mapping of name -> {{_target_: ...}}")
    return [
        hydra.utils.instantiate(
            c, **(_logger_kwargs(c, wandb_defaults or {}) if kind == "logger" else {}))
        for c in cfg.values()
        if isinstance(c, DictConfig) and "_target_" in c
    ]


def instantiate_callbacks(cfg: DictConfig | None) -> list[pl.Callback]:
    return _targets(cfg, "callbacks")


def instantiate_loggers(cfg: DictConfig | None,
                        wandb_defaults: Mapping[str, Any] | None = None) -> list[Logger]:
    """The loggers of ``cfg``; a W&B logger's null ``name`` / ``group`` come from
    ``wandb_defaults`` (see :func:`bstdg.tracking.naming.identity`)."""
    return _targets(cfg, "logger", wandb_defaults)
