"""The data section of a run config and the sizes of the data.

A real-data DataModule (MNIST/Fashion-MNIST, Caltech Face/Motorbike, SHD) knows its input size
and class count from the data and its own options (``resize``, ``dog_filter``, ``classes``): its
``n_inputs``/``n_classes`` attributes are the one source of truth, and the network is sized
from them. Only :class:`~bstdg.data.SyntheticDataModule` takes them as parameters.

A config that sets them for a real-data module gets :func:`check_size_keys`' error (a checkpoint
of an earlier bstdg that stored them is converted by ``python -m bstdg.convert``).
"""

from __future__ import annotations

from typing import Any

from omegaconf import DictConfig, OmegaConf

from bstdg.data.errors import InvalidDataConfigError

SIZE_KEYS = ("n_inputs", "n_classes")

# The DataModules whose sizes come from the data (their constructors take no size).
SIZED_BY_DATA = ("MNISTDataModule", "CaltechFaceMotorbikeDataModule", "SHDDataModule")

_WHAT_SETS_THEM = {
    "MNISTDataModule": "28 x 28 images, 10 classes",
    "CaltechFaceMotorbikeDataModule": (
        "data.resize [H, W] (x2 with data.dog_filter=on_off) and data.classes"),
    "SHDDataModule": "700 channels, 20 classes",
}


def _class_name(data_cfg: Any) -> str | None:
    """The class name of a real-data ``bstdg.data`` target, else None."""
    if not isinstance(data_cfg, DictConfig):
        return None
    target = data_cfg.get("_target_")
    if not isinstance(target, str) or not target.startswith("bstdg.data."):
        return None
    name = target.rsplit(".", 1)[-1]
    return name if name in SIZED_BY_DATA else None


def check_size_keys(data_cfg: Any) -> None:
    """Refuse ``data.n_inputs``/``data.n_classes`` set for a real-data module (naming the key).

    Raises :class:`InvalidDataConfigError`: the sizes come from the data, so such a key would be
    a second, possibly contradicting, source of truth.
    """
    name = _class_name(data_cfg)
    if name is None:
        return
    raw = OmegaConf.to_container(data_cfg, resolve=False)
    for key in SIZE_KEYS:
        if key in data_cfg:
            value = raw.get(key) if isinstance(raw, dict) else "?"
            raise InvalidDataConfigError(
                f"data.{key}={value} is not an option of {name}: the input size and class "
                f"count come from the data ({_WHAT_SETS_THEM[name]}) and the network is sized "
                f"from the DataModule. Remove data.{key} (from the command line or your "
                f"experiment file)."
            )


def check_optional_packages(data_cfg: Any) -> None:
    """Refuse ``data=tonic`` when tonic is not installed, with the command that installs it."""
    import importlib.util

    target = data_cfg.get("_target_") if isinstance(data_cfg, DictConfig) else None
    if target == "bstdg.data.tonic_events.TonicDataModule" and (
            importlib.util.find_spec("tonic") is None):
        raise InvalidDataConfigError(
            "data=tonic reads tonic's datasets, but tonic is not installed: pip install -e "
            ".[tonic] (tonic is GPL-3.0, an optional extra of bstdg)")
