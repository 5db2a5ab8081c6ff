"""Backends of the single-spike IF layer, one module (or package) each, behind one protocol
(:class:`~bstdg.snn.backends.base.Backend`: forward and grads of a layer given its
:class:`~bstdg.snn.spec.LayerSpec`, optional whole-net paths).

* ``reference`` -- time-stepped and readable; every other backend is tested against it.
* ``torch`` -- vectorised torch ops (``torch_ops``); the GPU path.
* ``numba`` -- the event-driven fused CPU kernels (the ``numba`` package).
* ``clock`` -- the dense clock-driven simulation of the reference papers' code, kept as the
  benchmark baseline (memory grows with T).

``auto`` picks numba for CPU tensors when numba is importable and torch otherwise (always
torch on CUDA). Adding a backend: a module with a ``BACKEND`` object and a line in
``_MODULES``; the pair rule it needs is ``KernelSpec.pair_weight`` / ``pair_table``.
"""

from __future__ import annotations

from functools import cache, lru_cache
from importlib import import_module
from importlib.util import find_spec

import torch

from bstdg.snn.backends.base import Backend

# backend name -> module of this package holding its ``BACKEND`` (imported on first use)
_MODULES = {"reference": "reference", "torch": "torch_ops", "numba": "numba.backend",
            "clock": "clock"}
BACKENDS = ("auto", *_MODULES)
_CPU_ONLY = ("numba",)

__all__ = ["BACKENDS", "Backend", "backend_by_name", "check_backend_name", "get_backend",
           "resolve_backend"]


@lru_cache(maxsize=1)
def _have_numba() -> bool:
    return find_spec("numba") is not None


def check_backend_name(backend: str) -> None:
    """Refuse a backend name not in ``BACKENDS``, naming the valid ones."""
    if backend not in BACKENDS:
        raise ValueError(f"unknown backend {backend!r}; valid: {', '.join(BACKENDS)}")


def resolve_backend(backend: str, device: torch.device) -> str:
    """The name of the concrete backend that runs ``backend`` for tensors on ``device``."""
    check_backend_name(backend)
    if backend == "auto":
        return "numba" if device.type == "cpu" and _have_numba() else "torch"
    if backend in _CPU_ONLY and device.type != "cpu":
        raise ValueError(
            f"the {backend} backend runs on CPU tensors only; use backend=torch or auto"
        )
    return backend


@cache
def backend_by_name(name: str) -> Backend:
    """The backend object of a concrete backend name (its module imported on first use)."""
    return import_module(f"{__name__}.{_MODULES[name]}").BACKEND


def get_backend(backend: str, device: torch.device) -> Backend:
    """The backend object that runs ``backend`` (a name of ``BACKENDS``) on ``device``."""
    return backend_by_name(resolve_backend(backend, device))
