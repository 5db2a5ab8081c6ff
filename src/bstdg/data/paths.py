"""Resolve the dataset root directory."""

from __future__ import annotations

import os
from pathlib import Path

from bstdg.data.errors import ENV_VAR


def default_data_dir() -> Path:
    """`$BSTDG_DATA_DIR` if set, else `<repo>/data` (the repo holding this src layout)."""
    env = os.environ.get(ENV_VAR)
    if env:
        return Path(env).expanduser()
    return Path(__file__).resolve().parents[3] / "data"


def resolve_data_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """Return `data_dir` as an absolute Path (user and env vars expanded); None → default."""
    if data_dir is None or str(data_dir) == "":
        return default_data_dir().resolve()
    return Path(os.path.expandvars(str(data_dir))).expanduser().resolve()
