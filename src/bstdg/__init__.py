"""bstdg.

``bstdg.load_run(run_dir_or_ckpt)`` returns the model, encoder and config of a trained run
(imported on first use, so ``import bstdg`` stays light).
"""

from __future__ import annotations

from typing import Any

__all__ = ["load_run"]


def __getattr__(name: str) -> Any:
    if name == "load_run":
        from bstdg.loading import load_run

        return load_run
    raise AttributeError(f"module 'bstdg' has no attribute {name!r}")
