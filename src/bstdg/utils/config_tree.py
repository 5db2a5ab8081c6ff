"""The run config as a compact rich tree (after lightning-hydra-template's print_config_tree).

Each section is a branch labelled with the class it builds (``_target_``), leaves are
``key: value`` with lists on one line, so the whole config of a run fits one screen.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from omegaconf import DictConfig, OmegaConf
from rich.console import Console
from rich.text import Text
from rich.tree import Tree

# Sections first, in the order a reader follows a run; others follow in config order.
SECTION_ORDER = ("data", "encoder", "model", "loss", "trainer", "callbacks", "logger",
                 "paths", "extras")
HIDDEN_KEYS = ("hydra",)
TARGET_KEYS = ("_target_", "_partial_")


def _resolved(node: Any) -> Any:
    """``node`` as plain Python; an interpolation that does not resolve here (``${hydra:..}``
    outside a Hydra app) stays as written, the rest is resolved."""
    if not OmegaConf.is_config(node):
        return node
    try:
        return OmegaConf.to_container(node, resolve=True, throw_on_missing=False)
    except Exception:
        raw = OmegaConf.to_container(node, resolve=False, throw_on_missing=False)
    keys = list(node.keys()) if OmegaConf.is_dict(node) else range(len(node))
    out = {}
    for key in keys:
        try:
            out[key] = _resolved(node[key])
        except Exception:
            out[key] = raw[key]  # type: ignore[index]
    return out if OmegaConf.is_dict(node) else list(out.values())


def _plain(cfg: DictConfig) -> dict[str, Any]:
    """``cfg`` without the ``hydra`` node as plain Python."""
    node = OmegaConf.masked_copy(cfg, [str(k) for k in cfg if str(k) not in HIDDEN_KEYS])
    data = _resolved(node)
    assert isinstance(data, dict)
    return {str(k): v for k, v in data.items()}


def format_value(value: Any) -> str:
    """A leaf as YAML would write it in flow style: ``null``, ``true``, ``[1, 2]``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {format_value(v)}" for k, v in value.items()) + "}"
    return str(value)


def _label(key: str, node: dict[str, Any]) -> Text:
    label = Text(key, style="bold")
    target = node.get("_target_")
    if target:
        label.append(f"  {target}", style="cyan")
        if node.get("_partial_"):
            label.append(" (partial)", style="dim")
    return label


def _add(tree: Tree, key: str, value: Any) -> None:
    """A section becomes a branch labelled with its class; anything else a ``key: value``."""
    if not isinstance(value, dict) or not value:
        tree.add(Text.assemble((key, "bold"), ": ", format_value(value)))
        return
    branch = tree.add(_label(key, value))
    for sub_key, sub in value.items():
        if sub_key not in TARGET_KEYS:
            _add(branch, str(sub_key), sub)


def _ordered(keys: Iterable[str]) -> list[str]:
    keys = list(keys)
    first = [k for k in SECTION_ORDER if k in keys]
    return first + [k for k in keys if k not in first]


def config_tree(cfg: DictConfig, title: str = "config") -> Tree:
    """The tree of ``cfg``: top-level values first, then the sections in SECTION_ORDER."""
    data = _plain(cfg)
    tree = Tree(Text(title, style="bold"), guide_style="dim")
    scalars = [k for k in data if not isinstance(data[k], dict)]
    for key in scalars:
        _add(tree, key, data[key])
    for key in _ordered(k for k in data if k not in scalars):
        _add(tree, key, data[key])
    return tree


def print_config_tree(cfg: DictConfig, console: Console | None = None) -> None:
    """Print the tree to stdout; long lines are not wrapped (a log file stays one line each)."""
    (console or Console()).print(config_tree(cfg), soft_wrap=True)
