"""What a run was: its hyperparameters as flat ``cfg/<dotted key>`` entries and its Hydra job."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from hydra.core.hydra_config import HydraConfig
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

# Config sections recorded whole, and single keys recorded besides them.
SECTIONS = ("data", "encoder", "model", "loss")
SINGLE_KEYS = ("trainer.max_epochs", "seed")
# Instantiation keys carry no hyperparameter.
HYDRA_KEYS = {"_target_", "_partial_", "_recursive_", "_convert_", "_args_"}


def is_path_key(name: str) -> bool:
    """Whether a config key names a file or folder (``data_dir``, ``ckpt_path``, ``root``)."""
    return name in {"root", "path", "dir"} or name.endswith(("_dir", "_path", "_file"))


def is_path_override(override: str) -> bool:
    """Whether a command-line override sets a path (``data.data_dir=...``, ``x=/abs``)."""
    key, _, value = str(override).partition("=")
    return is_path_key(key.split(".")[-1].lstrip("+~")) or value.startswith("/")


def _container(node: Any) -> Any:
    """``node`` as plain Python, resolved where its interpolations allow it."""
    if not OmegaConf.is_config(node):
        return node
    try:
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=False)
    except Exception:  # an interpolation that only resolves inside a Hydra app
        return OmegaConf.to_container(node, resolve=False)


def hyperparameter_tree(node: Any) -> Any:
    """``node`` as plain nested containers without instantiation keys (``_target_``, ...)
    and without path keys (``data_dir``, ``*_path``)."""
    value = _container(node)
    if isinstance(value, dict):
        return {str(k): hyperparameter_tree(v) for k, v in value.items()
                if k not in HYDRA_KEYS and not is_path_key(str(k))}
    if isinstance(value, list):
        return [hyperparameter_tree(v) for v in value]
    return value


def _leaves(value: Any, prefix: str) -> Iterator[tuple[str, Any]]:
    if isinstance(value, dict):
        for key, sub in value.items():
            if key in HYDRA_KEYS or is_path_key(str(key)):
                continue
            yield from _leaves(sub, f"{prefix}.{key}" if prefix else str(key))
    else:
        yield prefix, value


_ABSENT = object()


def _select(cfg: DictConfig, key: str) -> Any:
    try:
        return OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
    except Exception:
        return _ABSENT


def _group_choices() -> dict[str, Any]:
    if not HydraConfig.initialized():
        return {}
    return dict(HydraConfig.get().runtime.choices or {})


def _override_keys(overrides: list[str], groups: dict[str, Any]) -> list[str]:
    """Config keys set by ``key=value`` overrides (not Hydra's, not groups, not deletions)."""
    keys = []
    for item in overrides:
        key, sep, _ = item.partition("=")
        key = key.lstrip("+")
        if sep and key not in groups and not key.startswith(("~", "hydra.", "hydra/")):
            keys.append(key)
    return keys


def task_overrides() -> list[str] | None:
    """The job's command-line overrides, or None outside a Hydra app."""
    if not HydraConfig.initialized():
        return None
    return [str(o) for o in HydraConfig.get().overrides.task]


def config_entries(
    cfg: DictConfig, overrides: list[str] | None = None, groups: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Every hyperparameter leaf of ``data``, ``encoder``, ``model``, ``loss``, plus
    ``trainer.max_epochs``, ``seed`` and every overridden key, as ``cfg/<dotted key>``.

    ``overrides`` and the config ``groups`` (choices) default to the running Hydra job's.
    ``_target_``-style keys and paths (``*_dir``, ``*_path``) are left out.
    """
    overrides = (task_overrides() or []) if overrides is None else overrides
    groups = _group_choices() if groups is None else groups
    entries: dict[str, Any] = {}
    for section in SECTIONS:
        if section in cfg:
            entries.update(_leaves(_container(cfg[section]), section))
    for key in (*SINGLE_KEYS, *_override_keys(overrides, groups)):
        value = _select(cfg, key)
        if key not in entries and value is not _ABSENT and not is_path_key(key.split(".")[-1]):
            entries.update(_leaves(_container(value), key))
    return {f"cfg/{k}": v for k, v in entries.items()}


def hydra_job_entries() -> dict[str, Any]:
    """Overrides, config group choices and, in a multirun, the sweep stamp and job number."""
    if not HydraConfig.initialized():
        return {}
    hc = HydraConfig.get()
    entries: dict[str, Any] = {"overrides": task_overrides()}
    entries.update(
        {f"choice/{k}": v for k, v in _group_choices().items() if not k.startswith("hydra/")}
    )
    if hc.mode == RunMode.MULTIRUN:
        sweep_dir = str(hc.sweep.dir)
        entries.update(
            multirun_dir=sweep_dir, multirun_stamp=Path(sweep_dir).name, job_num=hc.job.num
        )
    return entries


def run_dir_entries(run_dir: str | Path) -> dict[str, Any]:
    """``cfg/`` entries, overrides and group choices of a finished run, read back from its
    ``.hydra/`` folder (for runs whose metrics.json predates these keys); {} without one."""
    hydra_dir = Path(run_dir) / ".hydra"
    try:
        cfg = OmegaConf.load(hydra_dir / "config.yaml")
        overrides_file = hydra_dir / "overrides.yaml"
        overrides = list(OmegaConf.load(overrides_file)) if overrides_file.is_file() else []
        hydra_file = hydra_dir / "hydra.yaml"
        choices = OmegaConf.select(OmegaConf.load(hydra_file), "hydra.runtime.choices",
                                   default=None) if hydra_file.is_file() else None
    except (OSError, ValueError, OmegaConfBaseException):
        return {}
    if not isinstance(cfg, DictConfig):
        return {}
    groups = {str(k): v for k, v in choices.items()} if isinstance(choices, DictConfig) else {}
    return {
        **config_entries(cfg, [str(o) for o in overrides], groups),
        "overrides": [str(o) for o in overrides],
        **{f"choice/{k}": v for k, v in groups.items() if not str(k).startswith("hydra/")},
    }
