"""bstdg-dashboard: clear errors, a dry run without network, saving through W&B's API."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import pytest

from bstdg.dashboard import cli

with warnings.catch_warnings():  # wandb-workspaces still uses pydantic-v1 validators
    warnings.simplefilter("ignore", DeprecationWarning)
    # a dependency of the dev extra (= the dashboard extra): missing, the tests fail, not skip
    import wandb_workspaces.reports.v2 as wr
    import wandb_workspaces.workspaces as ws


def test_no_entity_says_how_to_pass_it(monkeypatch, capsys) -> None:
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    with pytest.raises(SystemExit) as exit_:
        cli.main(["--project", "p"])
    assert exit_.value.code == 2
    assert "pass --entity ENTITY" in capsys.readouterr().err


def test_a_dry_run_needs_no_entity(monkeypatch, capsys) -> None:
    monkeypatch.delenv("WANDB_ENTITY", raising=False)
    assert cli.main(["--project", "p", "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"for {cli.DRY_RUN_ENTITY}/p:" in out and "dry run: nothing saved" in out


def test_entity_from_environment(monkeypatch, capsys) -> None:
    monkeypatch.setenv("WANDB_ENTITY", "team")
    assert cli.main(["--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "workspace 'bstdg' for team/bstdg:" in out and "nothing saved" in out


def test_missing_package_names_the_extra(monkeypatch) -> None:
    monkeypatch.setitem(sys.modules, "wandb_workspaces", None)  # import fails
    with pytest.raises(SystemExit, match=r"pip install -e '\.\[dashboard\]'"):
        cli.main(["--entity", "e", "--dry-run"])


def test_dry_run_lists_every_section_without_saving(monkeypatch, capsys) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("a dry run must not save")

    monkeypatch.setattr(ws.Workspace, "save", refuse)
    monkeypatch.setattr(wr.Report, "save", refuse)
    assert cli.main(["--entity", "e", "--project", "p", "--dry-run"]) == 0
    out = capsys.readouterr().out
    for name in ("Accuracy:", "Spikes:", "Timing:", "Sweep:", "panel grids"):
        assert name in out


def test_saves_workspace_and_report(monkeypatch, capsys) -> None:
    saved = []

    def save_workspace(self):
        saved.append(("workspace", self.entity, self.project))
        return self

    monkeypatch.setattr(ws.Workspace, "save", save_workspace)
    monkeypatch.setattr(ws.Workspace, "url", property(lambda self: "https://w/ws"))
    monkeypatch.setattr(wr.Report, "save", lambda self, **kw: saved.append(("report",)))
    monkeypatch.setattr(wr.Report, "url", property(lambda self: "https://w/report"))
    assert cli.main(["--entity", "e", "--project", "p"]) == 0
    assert saved == [("workspace", "e", "p"), ("report",)]
    out = capsys.readouterr().out
    assert "workspace: https://w/ws" in out and "report:    https://w/report" in out


def test_failed_save_is_one_clear_error(monkeypatch) -> None:
    def offline(self):
        raise ConnectionError("no network")

    monkeypatch.setattr(ws.Workspace, "save", offline)
    with pytest.raises(SystemExit, match=r"saving to W&B failed \(ConnectionError.*wandb login"):
        cli.main(["--entity", "e", "--project", "p"])


def test_module_entry_point_runs() -> None:
    env = {**os.environ, "WANDB_MODE": "disabled"}
    done = subprocess.run([sys.executable, "-m", "bstdg.dashboard", "--entity", "e",
                           "--dry-run"], env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    assert "dry run: nothing saved" in done.stdout
