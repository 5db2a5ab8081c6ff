"""``ckpt_path=auto`` (bstdg.utils.auto_resume): skip a finished run, resume an interrupted
one from its folder's last.ckpt, start a new one from scratch."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from omegaconf import OmegaConf

from bstdg.utils.auto_resume import ChangedSettingsError, resolve_auto_resume


def _cfg(run_dir: Path, ckpt_path: str | None = "auto"):
    return OmegaConf.create({"ckpt_path": ckpt_path, "paths": {"output_dir": str(run_dir)}})


def _record(run_dir: Path, status: str) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.json").write_text(json.dumps({"status": status, "test/acc": 0.5}))


def _last_ckpt(run_dir: Path) -> Path:
    (run_dir / "checkpoints").mkdir(parents=True, exist_ok=True)
    (path := run_dir / "checkpoints" / "last.ckpt").write_bytes(b"ckpt")
    return path


def test_a_new_folder_starts_from_scratch(tmp_path: Path) -> None:
    cfg = _cfg(tmp_path / "run")
    assert resolve_auto_resume(cfg) is None and cfg.ckpt_path is None


@pytest.mark.parametrize("status", ["running", "interrupted", "failed"])
def test_an_unfinished_run_resumes_from_its_last_checkpoint(tmp_path: Path, status: str,
                                                             capsys) -> None:
    _record(tmp_path, status)
    last = _last_ckpt(tmp_path)
    cfg = _cfg(tmp_path)
    assert resolve_auto_resume(cfg) is None and cfg.ckpt_path == str(last)
    assert "resuming from" in capsys.readouterr().err


def test_an_unfinished_run_without_checkpoint_starts_again(tmp_path: Path) -> None:
    _record(tmp_path, "running")
    cfg = _cfg(tmp_path)
    assert resolve_auto_resume(cfg) is None and cfg.ckpt_path is None


@pytest.mark.parametrize("status", ["finished", "stopped"])
def test_a_done_run_is_skipped_and_its_record_kept(tmp_path: Path, status: str) -> None:
    _record(tmp_path, status)
    _last_ckpt(tmp_path)
    before = (tmp_path / "metrics.json").read_bytes()
    record = resolve_auto_resume(_cfg(tmp_path))
    assert record is not None and record["status"] == status
    assert (tmp_path / "metrics.json").read_bytes() == before


def test_other_values_are_left_alone(tmp_path: Path) -> None:
    _record(tmp_path, "finished")
    for value in (None, "some/run/checkpoints/last.ckpt"):
        cfg = _cfg(tmp_path, value)
        assert resolve_auto_resume(cfg) is None and cfg.ckpt_path == value


@pytest.mark.parametrize("status", ["finished", "running"])
def test_a_folder_of_other_settings_is_refused(tmp_path: Path, status: str) -> None:
    # a recipe rerun after its defaults changed: the old runs are neither kept nor continued
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"status": status, "cfg/trainer.max_epochs": 1, "cfg/seed": 1}))
    _last_ckpt(tmp_path)
    cfg = OmegaConf.create({"ckpt_path": "auto", "paths": {"output_dir": str(tmp_path)},
                            "seed": 1, "trainer": {"max_epochs": 200}})
    with pytest.raises(ChangedSettingsError, match=r"trainer.max_epochs: 1 -> 200\)\. Move or "
                       r"delete that folder"):
        resolve_auto_resume(cfg)
    cfg.trainer.max_epochs = 1  # the same settings: skipped (finished) or resumed (running)
    done = resolve_auto_resume(cfg)
    assert (done is not None) == (status == "finished")
