"""The shape of the tensor core: small modules, no module reaching into another's private
names, and every numba kernel compiled with ``cache=True``."""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import numba
import pytest

import bstdg.snn

SNN = Path(bstdg.snn.__file__).parent
MODULES = sorted(SNN.rglob("*.py"))
NUMBA_MODULES = ["early_exit", "layer_kernels", "net_kernels", "primitives"]


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SNN)))
def test_modules_are_at_most_500_lines(path: Path) -> None:
    assert len(path.read_text().splitlines()) <= 500


def _private_uses(tree: ast.AST) -> list[str]:
    """``from bstdg.x import _name`` and ``x._name`` of a name imported from bstdg."""
    imported: set[str] = set()
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("bstdg"):
            imported |= {alias.asname or alias.name for alias in node.names}
            found += [f"{node.module}.{a.name}" for a in node.names if a.name.startswith("_")]
        elif isinstance(node, ast.Import):
            imported |= {(alias.asname or alias.name).split(".")[0] for alias in node.names
                         if alias.name.startswith("bstdg")}
    found += [
        f"{node.value.id}.{node.attr}" for node in ast.walk(tree)
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name)
        and node.value.id in imported and node.attr.startswith("_")
        and not node.attr.endswith("__")
    ]
    return found


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SNN)))
def test_no_private_names_are_imported_from_another_module(path: Path) -> None:
    assert not _private_uses(ast.parse(path.read_text()))


@pytest.mark.parametrize("name", NUMBA_MODULES)
def test_every_numba_function_caches_its_compiled_code(name: str) -> None:
    module = importlib.import_module(f"bstdg.snn.backends.numba.{name}")
    jitted = {key: value for key, value in vars(module).items()
              if isinstance(value, numba.core.registry.CPUDispatcher)
              and value.__module__ == module.__name__}
    assert jitted
    for key, dispatcher in jitted.items():
        assert type(dispatcher._cache).__name__ == "FunctionCache", key  # cache=True
