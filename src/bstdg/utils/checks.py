"""Start-up checks of a run's config: every message names the key, the value and what is valid.

The classes check their own arguments too (``SpikingNet``, ``GradientRule``, the data
modules); this layer adds what only the whole config knows (the config key of a value,
``delay`` against ``encoder.T``) and refuses NaN/inf anywhere in the hyperparameters, so a run
never trains to a chance-level "finished" result on an impossible setting.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Iterator
from typing import Any

from omegaconf import DictConfig, OmegaConf

# Sections whose numeric leaves must all be finite.
FINITE_SECTIONS = ("data", "encoder", "model", "loss")

# The valid range of the keys most often set by hand, for the messages.
RANGES: dict[str, str] = {
    "model.net.threshold_init": (
        "finite firing thresholds > 0, one per layer (e.g. [30.0, 15.0])"
    ),
    "model.net.threshold_min": "a finite number (e.g. 1.0)",
    "model.net.init_range": (
        "finite [low, high] with low < high, one pair per layer "
        "(e.g. [[-1.5, 3.5], [-24.0, 24.0]])"
    ),
    "model.net.latent_clip": (
        "a finite number > 0, or null for no clip; or one such entry per layer (e.g. [4.0, null])"
    ),
    "model.net.fact_init": "a finite number > 0",
    "model.net.fact_lr": "a finite number >= 0",
    "model.net.rule.tau": "a finite number of time steps > 0, or null (tau_fraction * T)",
    "model.net.rule.tau_fraction": "a finite number > 0",
    "model.net.rule.A": "a finite kernel amplitude (e.g. 1.0)",
    "model.net.rule.B": "a finite number (0 = no anti-causal term)",
    "model.net.rule.eps": "a finite number >= 0",
    "model.net.rule.threshold_grad_scale": "a finite number (e.g. 1.0)",
    "model.net.rule.backprop_lookahead": "a finite number >= 0 (0 = off)",
    "model.optimizer.lr": "a finite learning rate > 0 (e.g. 0.02)",
    "model.optimizer.weight_decay": "a finite number >= 0",
    "model.optimizer.momentum": "a finite number >= 0 (0 = no momentum)",
    "model.optimizer.eps": "a finite number >= 0 (e.g. 1e-8)",
    "model.optimizer.betas": "two finite numbers in [0, 1) (e.g. [0.9, 0.999])",
    "model.layer_lr_scale": "null, or one finite factor > 0 per layer (e.g. [1.0, 4.0])",
    "loss.gamma": "a finite target gap in steps (e.g. 3.0)",
    "loss.temperature": "a finite number > 0",
}


class ConfigError(ValueError):
    """A run cannot start as configured; the message says what to change. The entry points
    print it without a traceback (single runs) and exit with status 1."""


class ConfigValueError(ConfigError):
    """A hyperparameter of the run config is invalid; the message names the key."""


_ABSENT = object()


def _get(cfg: DictConfig, key: str) -> Any:
    """The resolved value at ``key`` (plain Python), or ``_ABSENT``."""
    try:
        value = OmegaConf.select(cfg, key, default=_ABSENT, throw_on_missing=False)
    except Exception:  # an interpolation that resolves only inside a Hydra app
        return _ABSENT
    if OmegaConf.is_config(value):
        return OmegaConf.to_container(value, resolve=True)
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _numbers(value: Any, key: str) -> Iterator[tuple[str, Any]]:
    """(key, leaf) of every leaf under ``value``; list items get ``[i]`` suffixes."""
    if isinstance(value, dict):
        for name, sub in value.items():
            yield from _numbers(sub, f"{key}.{name}")
    elif isinstance(value, (list, tuple)):
        for i, sub in enumerate(value):
            yield from _numbers(sub, f"{key}[{i}]")
    else:
        yield key, value


def _base_key(key: str) -> str:
    """``model.net.init_range[0][1]`` -> ``model.net.init_range``."""
    return key.split("[", 1)[0]


def check_finite(cfg: DictConfig, sections: tuple[str, ...] = FINITE_SECTIONS) -> None:
    """Refuse a NaN or infinite number anywhere in ``sections`` (naming key and range)."""
    for section in sections:
        value = _get(cfg, section)
        if value is _ABSENT:
            continue
        for key, leaf in _numbers(value, section):
            if isinstance(leaf, float) and not math.isfinite(leaf):
                valid = RANGES.get(_base_key(key), "a finite number")
                raise ConfigValueError(
                    f"{key}={leaf} is invalid: it must be {valid}. NaN and infinite "
                    f"hyperparameters are refused at start-up (the run would train to a "
                    f"chance-level result)."
                )


def _check_seed(cfg: DictConfig) -> None:
    seed = _get(cfg, "seed")
    if seed is not _ABSENT and seed is not None and not _is_int(seed):
        raise ConfigValueError(
            f"seed={seed!r} is invalid: give an integer, e.g. seed=1 (or seed=null for no "
            f"seeding)."
        )


def _check_max_epochs(cfg: DictConfig) -> None:
    epochs = _get(cfg, "trainer.max_epochs")
    if epochs is _ABSENT or epochs is None:
        return
    if not _is_int(epochs) or epochs < -1:
        raise ConfigValueError(
            f"trainer.max_epochs={epochs!r} is invalid: give an integer number of epochs >= 1, "
            f"e.g. trainer.max_epochs=10 (-1: no limit, with trainer.max_steps set)."
        )


def _check_T(cfg: DictConfig) -> int | None:
    T = _get(cfg, "encoder.T")
    if T is _ABSENT:
        return None
    if not _is_int(T) or T < 2:
        raise ConfigValueError(
            f"encoder.T={T!r} is invalid: give the number of time steps, an integer >= 2 "
            f"(e.g. encoder.T=64)."
        )
    return int(T)


def _check_hidden(cfg: DictConfig) -> None:
    hidden = _get(cfg, "model.net.hidden")
    if hidden is _ABSENT:
        return
    if not isinstance(hidden, list) or not all(_is_int(h) and h >= 1 for h in hidden):
        raise ConfigValueError(
            f"model.net.hidden={hidden!r} is invalid: give the hidden layer sizes as a list of "
            f"positive integers, e.g. model.net.hidden=[600] (or [] for no hidden layer)."
        )


def _check_delay(cfg: DictConfig, T: int | None) -> None:
    delay = _get(cfg, "model.net.delay")
    if delay is _ABSENT:
        return
    trim = _get(cfg, "model.net.window_trim")
    trim = trim if _is_int(trim) else 0
    if not _is_int(delay) or delay < 0:
        raise ConfigValueError(
            f"model.net.delay={delay!r} is invalid: give an integer number of time steps >= 0 "
            f"(e.g. 1)."
        )
    if T is not None and delay > T - 1 - trim:
        raise ConfigValueError(
            f"model.net.delay={delay} is invalid for encoder.T={T}"
            + (f" and model.net.window_trim={trim}" if trim else "")
            + f": it must lie in [0, {T - 1 - trim}] (a spike at step t + delay must fall "
            f"inside the window, so no neuron could ever fire)."
        )


# Keys whose node is instantiated with its keys as arguments: every key must be a setting of
# the class. ``loss`` and ``encoder`` are swappable groups (their message names the cause);
# ``data.n_inputs``/``data.n_classes`` of a real-data module get check_size_keys' message.
SWAPPABLE_GROUPS = ("loss", "encoder")
KEYED_NODES = ("loss", "encoder", "data", "model", "model.net", "model.optimizer",
               "model.scheduler")
_SIZE_KEYS = ("n_inputs", "n_classes")


def _settings(target: Any) -> tuple[Any, list[str]] | None:
    """(parameters, names) of the class ``target`` names, or None when it takes any keyword
    or cannot be read (an unknown target is reported by the instantiation itself)."""
    import hydra

    try:
        params = inspect.signature(hydra.utils.get_object(str(target))).parameters
    except Exception:
        return None
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return None
    return params, [name for name in params if name != "self"]


def _unknown_key(group: str, key: str, target: str, valid: list[str]) -> ConfigValueError:
    settings = f"{', '.join(valid) or 'none'}"
    if group in SWAPPABLE_GROUPS:
        return ConfigValueError(
            f"{group}.{key} is not a setting of {group} {target} (its settings: {settings}). "
            f"It usually comes from an experiment written for another {group}: drop it with "
            f"'~{group}.{key}' (quoted: zsh expands a bare ~), e.g. experiment=mnist_bstdg "
            f"loss=ce_neg_time '~loss.gamma'."
        )
    return ConfigValueError(
        f"{group}.{key} is not a setting of {group} {target} (its settings: {settings}). "
        f"Check the spelling, or drop it with '~{group}.{key}' (quoted: zsh expands a bare ~)."
    )


def _check_group_keys(cfg: DictConfig, group: str) -> None:
    """Every key of a node that is instantiated (``loss``, ``encoder``, ``data``, ``model``,
    ``model.net``, ``model.optimizer``, ``model.scheduler``) must be a setting of its class,
    so that ``+model.net.foo=1`` fails here, with the valid keys, and not as "unexpected
    keyword argument" when the model is built. An experiment's setting for a group's default
    (``loss.gamma`` of rel_target_mse) survives a command-line switch of the group
    (``loss=ce_neg_time``); the message of a swappable group says so."""
    node = _get(cfg, group)
    if not isinstance(node, dict) or "_target_" not in node:
        return
    found = _settings(node["_target_"])
    if found is None:
        return
    params, valid = found
    skip = _SIZE_KEYS if group == "data" else ()
    for key in node:
        if not str(key).startswith("_") and key not in params and key not in skip:
            raise _unknown_key(group, str(key), str(node["_target_"]), valid)
    _check_nested_keys(group, node)


def _dataclass_of(hint: Any) -> type | None:
    """The dataclass that a parameter's type hint names (alone or in a union), or None."""
    import dataclasses
    import typing

    for candidate in (hint, *typing.get_args(hint)):
        if isinstance(candidate, type) and dataclasses.is_dataclass(candidate):
            return candidate
    return None


def _check_nested_keys(group: str, node: dict[str, Any]) -> None:
    """A mapping given to a parameter whose type is a dataclass (``model.net.rule``, given
    to :class:`~bstdg.snn.rules.GradientRule`) may hold only the dataclass's fields."""
    import dataclasses
    import typing

    import hydra

    try:
        cls = hydra.utils.get_object(str(node["_target_"]))
        hints = typing.get_type_hints(cls.__init__ if isinstance(cls, type) else cls)
    except Exception:  # an unknown target or hint is reported by the instantiation itself
        return
    for name, value in node.items():
        schema = _dataclass_of(hints.get(str(name)))
        if schema is None or not isinstance(value, dict) or "_target_" in value:
            continue
        valid = [f.name for f in dataclasses.fields(schema)]
        for key in value:
            if key not in valid:
                raise _unknown_key(f"{group}.{name}", str(key),
                                   f"{schema.__module__}.{schema.__qualname__}", valid)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _check_thresholds(cfg: DictConfig) -> None:
    """``model.net.threshold_init``: every threshold > 0. A neuron fires when its potential
    exceeds the threshold: with theta = 0 on its first excitatory input spike, with theta < 0
    at the first step on no input at all."""
    key = "model.net.threshold_init"
    value = _get(cfg, key)
    if value is _ABSENT or value is None:
        return
    values = value if isinstance(value, list) else [value]
    for i, theta in enumerate(values):
        if _is_number(theta) and math.isfinite(theta) and theta <= 0:
            where = f"{key}[{i}]={theta}" if isinstance(value, list) else f"{key}={theta}"
            raise ConfigValueError(
                f"{where} is invalid: {key} must be {RANGES[key]}. A neuron fires when its "
                f"potential exceeds the threshold, so with a threshold <= 0 it fires on its "
                f"first excitatory input (below 0: on no input at all) and its spike time "
                f"carries almost no information; got {key}={value!r}."
            )


def _optimizer_value_error(key: str, value: Any) -> ConfigValueError:
    valid = RANGES.get(key, "a finite number >= 0")
    return ConfigValueError(
        f"{key}={value!r} is invalid: it must be {valid}. It is refused at start-up, before "
        f"anything is built (torch would refuse it only when training starts)."
    )


def _check_optimizer(cfg: DictConfig) -> None:
    """The values a torch.optim optimiser refuses (``lr``, ``weight_decay``, ``momentum``,
    ``eps`` < 0 or not a number; ``betas`` outside [0, 1); Nesterov without momentum), named
    by their key at start-up instead of as a torch error when training starts; and ``lr`` = 0
    (nothing would train; :data:`RANGES` has always said > 0)."""
    node = _get(cfg, "model.optimizer")
    if not isinstance(node, dict) or not str(node.get("_target_", "")).startswith("torch.optim"):
        return
    for name in ("lr", "weight_decay", "momentum", "eps"):
        if name not in node:
            continue
        value, key = node[name], f"model.optimizer.{name}"
        if (not _is_number(value) or not math.isfinite(value) or value < 0
                or (name == "lr" and value == 0)):
            raise _optimizer_value_error(key, value)
    if "betas" in node:
        betas = node["betas"]
        if not (isinstance(betas, list) and len(betas) == 2
                and all(_is_number(b) and math.isfinite(b) and 0 <= b < 1 for b in betas)):
            raise _optimizer_value_error("model.optimizer.betas", betas)
    if node.get("nesterov") is True:
        momentum, dampening = node.get("momentum", 0), node.get("dampening", 0)
        if not (_is_number(momentum) and momentum > 0) or dampening != 0:
            raise ConfigValueError(
                f"model.optimizer.nesterov=true is invalid with model.optimizer.momentum="
                f"{momentum!r} and model.optimizer.dampening={dampening!r}: Nesterov momentum "
                f"needs momentum > 0 and dampening 0 (torch refuses it otherwise)."
            )


def check_run_config(cfg: DictConfig) -> None:
    """All start-up checks of a train or eval config; raises :class:`ConfigValueError`."""
    for group in KEYED_NODES:
        _check_group_keys(cfg, group)
    _check_seed(cfg)
    _check_max_epochs(cfg)
    T = _check_T(cfg)
    _check_hidden(cfg)
    _check_delay(cfg, T)
    check_finite(cfg)
    _check_thresholds(cfg)
    _check_optimizer(cfg)
