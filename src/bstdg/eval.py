"""bstdg-eval: test a checkpoint with the same metrics as training's test stage.

bstdg-eval ckpt_path=logs/train/runs/<run>/checkpoints/last.ckpt [data.batch_size=1000 ...]

The data, encoder, model and loss settings come from the checkpoint itself (checkpoints
written by bstdg-train carry them; one of an earlier bstdg is refused with the command that
converts it, ``python -m bstdg.convert``). Command-line overrides of those keys are parsed by
Hydra (typed: ``encoder.T=64`` is an int, ``model.net.hidden=[100]`` a list) and applied on
top; a group choice (``data=fmnist``) takes that section from eval's own config instead. A
saved config may instantiate, at each key, only the classes allowed there (the project's data
modules, encoders, losses, model and net, the torch.optim optimisers and schedulers:
``bstdg.utils.instantiate.ALLOWED_CLASSES``), and the checkpoint is read with
``weights_only=True``; non-finite network weights or thresholds are refused.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path
from typing import Any

import hydra
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig, OmegaConf, open_dict

from bstdg.loading import config_for_checkpoint
from bstdg.tracking.naming import recorded_identity, run_name
from bstdg.train import build, build_trainer
from bstdg.utils.checkpoint import BUILT_KEYS, RUN_KEYS, read_checkpoint, weights_only_kwargs
from bstdg.utils.checks import ConfigError
from bstdg.utils.instantiate import check_targets
from bstdg.utils.task import CONFIG_DIR, config_section, override_section, run_entry_point

# Config groups of bstdg-train that bstdg-eval does not have (the run's settings come from
# the checkpoint instead).
TRAIN_ONLY_GROUPS = ("experiment", "hparams_search", "debug")

USAGE = (
    "bstdg-eval tests a checkpoint of a bstdg-train run with that run's own settings:\n"
    "  bstdg-eval ckpt_path=RUN/checkpoints/last.ckpt [overrides]\n"
    "The data, encoder, model and loss come from the checkpoint. "
    "Overrides change them (data.batch_size=1000, encoder.T=64, data=fmnist, seed=1); "
    "trainer=..., logger=..., callbacks=... and hydra.run.dir=... set up the test itself."
)


class EvalUsageError(ConfigError):
    """bstdg-eval was called with something it does not accept."""


def _task_overrides() -> list[str]:
    return list(HydraConfig.get().overrides.task) if HydraConfig.initialized() else []


def _group_choices(cfg: DictConfig) -> set[str]:
    """The config groups of this composition (``data``, ``model/net``, ...)."""
    if HydraConfig.initialized():
        choices = HydraConfig.get().runtime.choices
    else:
        choices = OmegaConf.select(cfg, "hydra.runtime.choices", default=None)
    return {str(k) for k in (choices or {})}


def with_run_config(
    cfg: DictConfig, run_cfg: DictConfig, overrides: list[str], source: str = "run config"
) -> DictConfig:
    """Take data/encoder/model/loss (and seed, run name, tags) from the training run's config
    ``run_cfg``; ``overrides`` of those keys, parsed with Hydra's override grammar, still win.

    A group override of a section (``data=fmnist``) keeps eval's own composition of it.
    """
    from hydra._internal.config_loader_impl import ConfigLoaderImpl
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.core.override_parser.types import OverrideType
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException as err:
        raise EvalUsageError(f"cannot parse the overrides {overrides}: {err}") from None
    groups = _group_choices(cfg)
    parsed = [o for o in parsed if not o.is_hydra_override()]
    own = {config_section(o.key_or_group) for o in parsed if o.key_or_group in groups}
    with open_dict(cfg):
        for key in RUN_KEYS:
            if key in run_cfg and key not in own:
                cfg[key] = run_cfg[key]
    mine = [
        # "+key=value" adds to eval's config; in the run's config the key may already exist
        dataclasses.replace(o, type=OverrideType.FORCE_ADD) if o.type == OverrideType.ADD else o
        for o in parsed
        if config_section(o.key_or_group) in RUN_KEYS
        and config_section(o.key_or_group) not in own
        and o.key_or_group not in groups
    ]
    try:
        ConfigLoaderImpl._apply_overrides_to_config(mine, cfg)
    except HydraException as err:
        raise EvalUsageError(
            f"cannot apply {[o.input_line for o in mine]} to the config from {source}: {err}"
        ) from None
    return cfg


def _check_sizes(model: Any, checkpoint: dict[str, Any], ckpt: Path) -> None:
    """The data must give the checkpoint's input size and class count, and the model built
    from the config (with the overrides) must have the checkpoint's weight shapes."""
    saved = checkpoint.get("hyper_parameters") or {}
    for key in ("n_inputs", "n_classes"):
        if key in saved and int(saved[key]) != int(model.hparams[key]):
            raise EvalUsageError(
                f"the data gives {key}={model.hparams[key]} but the model in {ckpt} was "
                f"trained with {key}={saved[key]}: evaluate it on the data it was trained on "
                f"(drop the data=... override, or set data.* to the training run's values)."
            )
    state = checkpoint.get("state_dict") or {}
    for name, tensor in model.state_dict().items():
        if name in state and tuple(state[name].shape) != tuple(tensor.shape):
            raise EvalUsageError(
                f"{name} has shape {tuple(state[name].shape)} in {ckpt} but "
                f"{tuple(tensor.shape)} in the model built from the config and the overrides: "
                f"an override changed the network's shape (model.net.hidden, data.*); "
                f"evaluate with the training run's values."
            )


def _trained_identity(cfg: DictConfig, ckpt: Path) -> dict[str, str]:
    """W&B name and group of the training run that wrote ``ckpt`` (from its run folder)."""
    run_dir = ckpt.parent.parent if ckpt.parent.name == "checkpoints" else ckpt.parent
    return recorded_identity(run_dir, str(cfg.get("run_name") or "default"))


def evaluate(
    cfg: DictConfig, objects: dict[str, Any] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Test ``cfg.ckpt_path``; returns (metrics, objects)."""
    objects = {} if objects is None else objects
    ckpt_value = OmegaConf.select(cfg, "ckpt_path", default=None, throw_on_missing=False)
    if not ckpt_value:
        raise EvalUsageError(f"no checkpoint given.\n{USAGE}")
    ckpt = Path(str(ckpt_value))
    checkpoint = read_checkpoint(ckpt)
    run_cfg, source = config_for_checkpoint(ckpt, checkpoint)
    cfg = with_run_config(cfg, run_cfg, _task_overrides(), source)
    for key in BUILT_KEYS:
        if key in cfg:
            check_targets(cfg[key], source, key)
    datamodule, model = build(cfg)
    _check_sizes(model, checkpoint, ckpt)
    objects.update(model=model, datamodule=datamodule, ckpt_path=str(ckpt))
    trained = _trained_identity(cfg, ckpt)
    # the eval run joins the training run's W&B group, named after it and eval's overrides
    objects["trainer"] = trainer = build_trainer(
        cfg, model,
        wandb_defaults={"name": run_name(f"{trained['name']}-eval", _task_overrides()),
                        "group": trained["group"]},
        wandb_extra={"evaluated": {"checkpoint": ckpt.name, "train_run": trained["name"]}})
    trainer.test(model, datamodule=datamodule, ckpt_path=str(ckpt),
                 **weights_only_kwargs(trainer.test))
    return dict(trainer.callback_metrics), objects


def train_only_overrides(args: list[str]) -> list[str]:
    """The command-line arguments that choose a bstdg-train-only config group."""
    return [arg for arg in args if override_section(arg) in TRAIN_ONLY_GROUPS]


@hydra.main(version_base="1.3", config_path=CONFIG_DIR, config_name="eval.yaml")
def _main(cfg: DictConfig) -> None:
    run_entry_point("bstdg-eval", evaluate, cfg)


def main() -> None:
    """Console script: refuse bstdg-train's groups with a usage message, then run Hydra."""
    bad = train_only_overrides(sys.argv[1:])
    if bad:
        print(
            f"bstdg-eval: error: {' '.join(bad)} is a bstdg-train option; eval takes the "
            f"experiment's settings from the checkpoint.\n{USAGE}",
            file=sys.stderr,
        )
        raise SystemExit(2)
    _main()


if __name__ == "__main__":
    main()
