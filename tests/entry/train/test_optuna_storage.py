"""Optuna searches keep their study in SQLite, so a crashed search resumes."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from bstdg.utils.optuna_storage import SqliteStorageDir, sqlite_path

SEARCHES = [("mnist_optuna", "mnist_bstdg"), ("caltech_optuna", "caltech_bstdg")]


@pytest.mark.parametrize("search,experiment", SEARCHES)
def test_search_stores_its_study_in_sqlite_under_log_dir(
    make_cfg, tmp_path: Path, search: str, experiment: str
) -> None:
    cfg = make_cfg(f"hparams_search={search}", f"experiment={experiment}")
    sweeper = cfg.hydra.sweeper
    assert sweeper.storage == f"sqlite:///{tmp_path}/optuna.db"  # make_cfg: log_dir = tmp_path
    assert sweeper.study_name == f"{search}-{experiment}"
    callback = OmegaConf.to_container(cfg.hydra.callbacks.optuna_storage, resolve=True)
    assert callback == {"_target_": "bstdg.utils.optuna_storage.SqliteStorageDir",
                        "storage": sweeper.storage}


def test_default_storage_is_logs_optuna_db(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg("hparams_search=mnist_optuna", "experiment=mnist_bstdg")
    with_default_log_dir = OmegaConf.merge(cfg, {"paths": {"log_dir": "./logs"}})
    assert with_default_log_dir.hydra.sweeper.storage == "sqlite:///./logs/optuna.db"


@pytest.mark.parametrize("url,path", [
    ("sqlite:///./logs/optuna.db", Path("logs/optuna.db")),
    ("sqlite:////abs/dir/optuna.db", Path("/abs/dir/optuna.db")),
    ("sqlite:///optuna.db?timeout=30", Path("optuna.db")),
    ("sqlite:///:memory:", None),
    ("postgresql://host/db", None),
    (None, None),
])
def test_sqlite_path(url: str | None, path: Path | None) -> None:
    assert sqlite_path(url) == path


def test_callback_creates_the_database_folder(tmp_path: Path) -> None:
    folder = tmp_path / "fresh" / "logs"
    SqliteStorageDir(f"sqlite:///{folder}/optuna.db").on_multirun_start(OmegaConf.create())
    assert folder.is_dir()


def _search(tmp_path: Path, n_trials: int) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1",
           "NUMBA_NUM_THREADS": "1"}
    return subprocess.run(
        [sys.executable, "-m", "bstdg.train", "-m", "hparams_search=mnist_optuna",
         "experiment=synthetic_quickstart", "logger=none", "trainer.max_epochs=1",
         f"hydra.sweeper.n_trials={n_trials}", f"paths.log_dir={tmp_path / 'logs'}",
         "trainer.enable_progress_bar=false", "extras.print_config=false",
         "callbacks.model_summary=null", "callbacks.inference_timer.max_samples=64",
         "hydra.callbacks.summary.enabled=false"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600, check=False)


@pytest.mark.slow
def test_search_resumes_from_its_database(tmp_path: Path) -> None:
    """A fresh clone (no logs/) gets the database; a second call adds to the same study."""
    with warnings.catch_warnings():  # optuna 2 on SQLAlchemy 1.4: MovedIn20Warning on import
        warnings.simplefilter("ignore")
        import optuna
    first = _search(tmp_path, 2)
    assert first.returncode == 0, first.stderr[-3000:]
    url = f"sqlite:///{tmp_path / 'logs'}/optuna.db"
    name = "mnist_optuna-synthetic_quickstart"
    assert len(optuna.load_study(study_name=name, storage=url).trials) == 2
    again = _search(tmp_path, 1)
    assert again.returncode == 0, again.stderr[-3000:]
    trials = optuna.load_study(study_name=name, storage=url).trials
    assert [t.state for t in trials] == [optuna.trial.TrialState.COMPLETE] * 3
