"""Convert checkpoints written by an earlier bstdg, once, in place:

    python -m bstdg.convert RUN/checkpoints/epoch_012.ckpt [RUN/checkpoints/last.ckpt ...]

The original stays beside each file as ``<name>.bak``. The conversion
(:func:`convert_checkpoint`):

* a checkpoint without a stored run config takes its run folder's ``.hydra/config.yaml``
  (``RUN/checkpoints/<name>`` -> ``RUN/.hydra/config.yaml``);
* the model's training-policy settings and ``scheduler_interval`` leave the run config and
  the hyperparameters: the policies are callbacks now (``conf/callbacks/policies/``) and
  the scheduler advances after every optimiser step;
* ``data.n_inputs`` / ``data.n_classes`` of a real-data module are dropped (the data gives
  them);
* the net gets every key of the code defaults it does not set, a rule without ``kernel`` or
  ``tau_fraction`` the earlier defaults of those two (exp, 0.125): the converted checkpoint
  rebuilds the model that was trained.
"""

from __future__ import annotations

import argparse
import copy
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from bstdg.config_defaults import net_defaults
from bstdg.data.config import SIZE_KEYS, SIZED_BY_DATA
from bstdg.utils.checkpoint import (
    BUILT_KEYS,
    MOVED_MODEL_KEYS,
    CheckpointError,
    outdated_parts,
    read_checkpoint,
    run_config_of,
)
from bstdg.utils.checks import ConfigError
from bstdg.utils.instantiate import check_targets

# GradientRule fields whose code default changed, with the earlier default.
EARLIER_RULE_DEFAULTS = {"kernel": "exp", "tau_fraction": 0.125}
NET_TARGETS = ("bstdg.snn.SpikingNet", "bstdg.snn.layers.SpikingNet")


def run_folder_config(ckpt: Path) -> dict[str, Any]:
    """The run config of ``RUN/.hydra/config.yaml`` beside ``RUN/checkpoints/<ckpt>``; every
    ``_target_`` in it is checked."""
    path = ckpt.resolve().parent.parent / ".hydra" / "config.yaml"
    cfg = OmegaConf.load(path) if path.is_file() else None
    if not isinstance(cfg, DictConfig):
        raise CheckpointError(
            f"checkpoint {ckpt} holds no run config and its run folder has no "
            f".hydra/config.yaml at {path}: put it back in its run folder "
            f"(RUN/checkpoints/{ckpt.name}) to convert it"
        )
    for key in BUILT_KEYS:
        if key in cfg:
            check_targets(cfg[key], str(path), key)
    return run_config_of(cfg)


def _current_net(net: Mapping[str, Any]) -> dict[str, Any]:
    """A stored net config with the code defaults it does not set (the rule's changed
    defaults at their earlier values)."""
    defaults = net_defaults()
    rule = dict(net.get("rule") or {})
    rule = {**defaults["rule"], **EARLIER_RULE_DEFAULTS, **rule}
    return {**defaults, **net, "rule": rule}


def convert_checkpoint(checkpoint: dict[str, Any],
                       folder_config: Mapping[str, Any] | None = None) -> list[str]:
    """Bring ``checkpoint`` (a dict read from a ``.ckpt``) to the current format in place;
    the notes say what changed. ``folder_config`` is the run config to store when the
    checkpoint has none."""
    notes: list[str] = []
    hparams = checkpoint.setdefault("hyper_parameters", {})
    if not isinstance(hparams.get("run_config"), Mapping):
        if folder_config is None:
            raise CheckpointError("the checkpoint holds no run config and none was given")
        hparams["run_config"] = copy.deepcopy(dict(folder_config))
        notes.append("run config taken from the run folder's .hydra/config.yaml")
    run_config = hparams["run_config"]
    model = run_config.get("model") or {}
    for key in MOVED_MODEL_KEYS:
        if key in model:
            notes.append(f"model.{key}={model.pop(key)!r} dropped")
        hparams.pop(key, None)
    data = run_config.get("data") or {}
    target = str(data.get("_target_", ""))
    if target.startswith("bstdg.data.") and target.rsplit(".", 1)[-1] in SIZED_BY_DATA:
        for key in SIZE_KEYS:
            if key in data:
                notes.append(f"data.{key}={data.pop(key)!r} dropped (the data gives it)")
    net = model.get("net")
    if isinstance(net, Mapping) and net.get("_target_") in NET_TARGETS:
        model["net"] = _current_net(net)
    return notes


def convert_file(path: Path) -> list[str]:
    """Convert the checkpoint at ``path`` in place (the original kept as ``<name>.bak``);
    the notes say what changed ([] for a current checkpoint, left as it is)."""
    checkpoint = read_checkpoint(path, current=False)
    has_config = isinstance((checkpoint.get("hyper_parameters") or {}).get("run_config"),
                            Mapping)
    if has_config and not outdated_parts(checkpoint):
        return []
    notes = convert_checkpoint(checkpoint, None if has_config else run_folder_config(path))
    backup = path.with_name(f"{path.name}.bak")
    if backup.exists():
        raise CheckpointError(f"{backup} exists: move it away to convert {path} again")
    tmp = path.with_name(f".{path.name}.converting")
    torch.save(checkpoint, tmp)
    os.replace(path, backup)
    os.replace(tmp, path)
    return notes


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m bstdg.convert CKPT...``: convert each checkpoint, saying what changed."""
    parser = argparse.ArgumentParser(prog="python -m bstdg.convert", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("checkpoints", nargs="+", type=Path, help=".ckpt files to convert")
    args = parser.parse_args(argv)
    failed = 0
    for path in args.checkpoints:
        try:
            notes = convert_file(path)
        except ConfigError as err:
            print(f"{path}: not converted: {err}")
            failed += 1
            continue
        print(f"{path}: " + ("converted (" + "; ".join(notes) + f"), original in {path}.bak"
                             if notes else "already current, left as it is"))
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
