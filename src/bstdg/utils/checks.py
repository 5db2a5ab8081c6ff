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
    "model.net.threshold_init": "finite firing thresholds, one per layer (e.g. [30.0, 15.0])",
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
    "model.optimizer.lr": "a finite learning rate > 0",
    "model.optimizer.weight_decay": "a finite number >= 0",
    "model.threshold_homeostasis": "a finite rate >= 0 (0 = off)",
    "model.homeostasis_target": "a firing rate in (0, 1) (e.g. 0.1)",
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


def _check_group_keys(cfg: DictConfig, group: str) -> None:
    """Every key of a swappable group (``loss``, ``encoder``) must be a setting of its class.
    An experiment's setting for the group's default (``loss.gamma`` of rel_target_mse)
    survives a command-line switch of the group (``loss=ce_neg_time``); without this check
    the run fails inside Hydra with "unexpected keyword argument"."""
    import hydra

    node = _get(cfg, group)
    if not isinstance(node, dict) or "_target_" not in node:
        return
    try:
        params = inspect.signature(hydra.utils.get_object(str(node["_target_"]))).parameters
    except Exception:  # an unknown target is reported by the instantiation itself
        return
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values()):
        return
    valid = [name for name in params if name != "self"]
    for key in node:
        if not str(key).startswith("_") and key not in params:
            raise ConfigValueError(
                f"{group}.{key} is not a setting of {group} {node['_target_']} (its settings: "
                f"{', '.join(valid) or 'none'}). It usually comes from an experiment written "
                f"for another {group}: drop it with '~{group}.{key}' (quoted: zsh expands a "
                f"bare ~), e.g. experiment=mnist_bstdg loss=ce_neg_time '~loss.gamma'."
            )


def check_run_config(cfg: DictConfig) -> None:
    """All start-up checks of a train or eval config; raises :class:`ConfigValueError`."""
    for group in ("loss", "encoder"):
        _check_group_keys(cfg, group)
    _check_seed(cfg)
    _check_max_epochs(cfg)
    T = _check_T(cfg)
    _check_hidden(cfg)
    _check_delay(cfg, T)
    check_finite(cfg)
