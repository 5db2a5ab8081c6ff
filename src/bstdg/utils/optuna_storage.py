"""Optuna SQLite storage of a Hydra search: the folder the database file goes into.

SQLite creates the database file but not its folder, and the Optuna sweeper opens the study
before Hydra makes any run folder; on a fresh clone ``logs/`` does not exist yet. The
``hparams_search`` configs register :class:`SqliteStorageDir` as a Hydra callback, whose
``on_multirun_start`` runs before the sweeper is built.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

SQLITE_PREFIX = "sqlite:///"


def sqlite_path(storage: str | None) -> Path | None:
    """The database file of an ``sqlite:///`` URL (relative or absolute), else None.

    ``sqlite:///logs/optuna.db`` -> ``logs/optuna.db``; ``sqlite:////abs/optuna.db`` ->
    ``/abs/optuna.db``; an in-memory database, another backend or no storage -> None.
    """
    if not storage or not storage.startswith(SQLITE_PREFIX):
        return None
    path = storage[len(SQLITE_PREFIX):].split("?", 1)[0]
    if path in ("", ":memory:"):
        return None
    return Path(path)


class SqliteStorageDir(Callback):
    """Create the folder of the sweeper's SQLite database when a multirun starts."""

    def __init__(self, storage: str | None = None) -> None:
        self.storage = storage

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        path = sqlite_path(self.storage)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
