"""A results document never loses a measured table: the run archive, and sections kept from
the document being replaced when their runs are on no disk at hand."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from bstdg.report.cli import main
from bstdg.report.previous_doc import KEPT_MARK, previous_sections
from bstdg.report.results_doc import SpecError, build_results_doc
from bstdg.report.run_archive import archived_runs
from helpers.report_fakes import finished, write_run

NOW = dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
LATER = dt.datetime(2030, 2, 3, 4, 5, tzinfo=dt.timezone.utc)

SPEC = """\
archive: docs/results_runs.json
sections:
  - title: MNIST 600
    runs: logs/tables/mnist
    command: bstdg-train -m experiment=mnist_bstdg seed=1,2
    targets: [{metric: test/acc, at_least: 0.97}]
  - title: F-MNIST
    runs: logs/tables/fmnist
    command: bstdg-train -m experiment=fmnist_bstdg seed=1,2
"""
NO_ARCHIVE = SPEC.replace("archive: docs/results_runs.json\n", "")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """Two finished MNIST runs (no F-MNIST run) and the spec, with an archive folder."""
    for job, (seed, acc) in enumerate(((1, 0.970), (2, 0.980))):
        write_run(tmp_path / "logs" / "tables" / "mnist", str(job),
                  **finished(seed, 64, acc, 50.0), experiment="mnist_bstdg")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results.yaml").write_text(SPEC)
    return tmp_path


def _build(repo: Path, now: dt.datetime = NOW) -> str:
    build_results_doc(repo / "docs" / "results.yaml", repo / "docs" / "results.md",
                      root=repo, now=now)
    return (repo / "docs" / "results.md").read_text()


def _section(text: str, title: str) -> str:
    return next(p for p in text.split("\n## ")[1:] if p.split("\n", 1)[0] == title)


def _archive(repo: Path) -> dict:
    return json.loads((repo / "docs" / "results_runs.json").read_text())


def test_the_archive_holds_each_run_read_and_rebuilds_the_document_without_logs(
        repo: Path) -> None:
    first = _build(repo)
    archive = _archive(repo)
    assert archive["format"] == 1
    assert sorted(archive["runs"]) == ["logs/tables/mnist/0", "logs/tables/mnist/1"]
    assert archive["runs"]["logs/tables/mnist/0"] == \
        json.loads((repo / "logs/tables/mnist/0/metrics.json").read_text())

    shutil.rmtree(repo / "logs")  # a fresh clone: no logs/, the archive committed
    again = _section(_build(repo, LATER), "MNIST 600")
    assert KEPT_MARK not in again  # rebuilt from the archived runs, not kept
    assert again == _section(first, "MNIST 600")
    assert "| mnist_bstdg | 2 | 1,2 |" in again and "97.50 ± 0.71" in again


def test_a_run_is_read_from_logs_before_the_archive_and_new_runs_join_old_ones(
        repo: Path) -> None:
    _build(repo)
    # logs/ now holds a rerun of job 0 (new accuracy) and a third job; job 1 only archived
    shutil.rmtree(repo / "logs" / "tables" / "mnist" / "1")
    write_run(repo / "logs" / "tables" / "mnist", "0", **finished(1, 64, 0.960, 50.0),
              experiment="mnist_bstdg")
    write_run(repo / "logs" / "tables" / "mnist", "2", **finished(3, 64, 0.990, 50.0),
              experiment="mnist_bstdg")
    mnist = _section(_build(repo, LATER), "MNIST 600")
    # (0.960 + 0.980 + 0.990) / 3 = 97.67: the archived 0.970 of job 0 is not read
    assert "| mnist_bstdg | 3 | 1,2,3 |" in mnist and "97.67 ± 1.53" in mnist
    runs = _archive(repo)["runs"]
    assert sorted(runs) == ["logs/tables/mnist/0", "logs/tables/mnist/1", "logs/tables/mnist/2"]
    assert runs["logs/tables/mnist/0"]["test/acc"] == pytest.approx(0.960)


def test_a_run_without_cfg_keys_is_archived_with_those_of_its_hydra_folder(
        repo: Path) -> None:
    run = write_run(repo / "logs" / "tables" / "mnist", "old", status="finished",
                    **{"test/acc": 0.9})
    (run / ".hydra").mkdir()
    (run / ".hydra" / "config.yaml").write_text("seed: 7\n")
    (run / ".hydra" / "overrides.yaml").write_text("- seed=7\n")
    _build(repo)
    runs = _archive(repo)["runs"]
    assert runs["logs/tables/mnist/old"]["cfg/seed"] == 7
    assert runs["logs/tables/mnist/old"]["overrides"] == ["seed=7"]
    assert "overrides" not in runs["logs/tables/mnist/0"]


@pytest.mark.parametrize(("entry", "keys"), [
    ("logs/tables/mnist", ["logs/tables/mnist/0", "logs/tables/mnist/1"]),
    ("logs/tables/mnist/1", ["logs/tables/mnist/1"]),
    ("logs/tables/mnist/1/metrics.json", ["logs/tables/mnist/1"]),
    ("logs/tables/mn*", ["logs/tables/mnist/0", "logs/tables/mnist/1"]),
    ("logs/**/1", ["logs/tables/mnist/1"]),
    ("logs/tables/mnist_other", []),
])
def test_an_entry_names_the_archived_runs_its_path_or_glob_covers(entry: str,
                                                                   keys: list[str]) -> None:
    runs = {"logs/tables/mnist/0": {}, "logs/tables/mnist/1": {}}
    assert sorted(archived_runs(runs, entry)) == keys


def test_a_corrupt_archive_is_refused_with_how_to_restore_it(repo: Path) -> None:
    (repo / "docs" / "results_runs.json").write_text("{not json")
    with pytest.raises(SpecError, match=r"results_runs.json is not a readable run archive.*"
                                         r"git checkout --"):
        _build(repo)
    (repo / "docs" / "results_runs.json").write_text('{"runs": []}')
    with pytest.raises(SpecError, match="not a run archive of format 1"):
        _build(repo)


def test_a_section_with_no_run_anywhere_keeps_its_measured_block_marked_once(
        repo: Path) -> None:
    (repo / "docs" / "results.yaml").write_text(NO_ARCHIVE)
    first = _build(repo)
    shutil.rmtree(repo / "logs")
    second = _build(repo, LATER)
    third = _build(repo, LATER + dt.timedelta(days=1))

    kept = _section(second, "MNIST 600")
    note = (f"{KEPT_MARK} no run of this section is on this machine (nothing at "
            "`logs/tables/mnist`), so this block is as generated on 2030-01-02 03:04 UTC "
            "from an unknown commit (not a git checkout). Rerun its command")
    assert note in kept
    assert kept.replace(note, "").count("97.50 ± 0.71") == \
        _section(first, "MNIST 600").count("97.50 ± 0.71") == 1
    assert _section(third, "MNIST 600") == kept  # kept again: one note, the first date
    overview = third.split("\n## ")[0]
    assert "| [MNIST 600](#mnist-600) | 2 | 97.50 ± 0.71 |" in overview
    assert overview.count("(kept)") == 1 and "| met (kept) |" in overview
    # a section that was never measured is not kept: it says what to run
    assert "**Not run yet:** `bstdg-train -m experiment=fmnist_bstdg seed=1,2`" in \
        _section(third, "F-MNIST")
    assert set(previous_sections(repo / "docs" / "results.md")) == {"MNIST 600"}


def test_runs_found_again_replace_the_kept_block(repo: Path) -> None:
    (repo / "docs" / "results.yaml").write_text(NO_ARCHIVE)
    _build(repo)
    moved = repo.parent / f"{repo.name}_logs"
    shutil.move(repo / "logs", moved)
    assert KEPT_MARK in _section(_build(repo, LATER), "MNIST 600")
    shutil.move(moved, repo / "logs")
    back = _build(repo, LATER)
    assert KEPT_MARK not in back and "| met |" in back.split("\n## ")[0]


def test_no_previous_document_or_one_without_a_stamp_keeps_nothing(tmp_path: Path) -> None:
    assert previous_sections(tmp_path / "absent.md") == {}
    (tmp_path / "hand.md").write_text("# notes\n\n## MNIST 600\n\ntext\n")
    assert previous_sections(tmp_path / "hand.md") == {}


def test_the_command_says_which_sections_were_kept(repo: Path,
                                                    capsys: pytest.CaptureFixture) -> None:
    args = ["--doc", str(repo / "docs" / "results.yaml"), "--out",
            str(repo / "docs" / "results.md"), "--root", str(repo)]
    (repo / "docs" / "results.yaml").write_text(NO_ARCHIVE)
    assert main(args) == 0
    assert "kept from the document being replaced" not in capsys.readouterr().out
    shutil.rmtree(repo / "logs")
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "MNIST 600: 2 finished runs, verdict met (kept)" in out
    assert "1 section(s) kept from the document being replaced" in out


def test_a_renamed_section_keeps_its_block_under_the_new_title(repo: Path) -> None:
    """A new recipe takes over a title; the old block moves to a title of its own."""
    (repo / "docs" / "results.yaml").write_text(NO_ARCHIVE)
    _build(repo)
    shutil.rmtree(repo / "logs")
    write_run(repo / "logs" / "tables" / "mnist_new", "0", **finished(1, 64, 0.99, 40.0),
              experiment="mnist_bstdg")
    spec = SPEC.replace("archive: docs/results_runs.json\n", "").replace(
        "    runs: logs/tables/mnist\n", "    runs: logs/tables/mnist_new\n").replace(
        "  - title: F-MNIST\n", "  - title: MNIST 600, previous recipe\n"
        "    runs: logs/tables/mnist\n    renamed_from: MNIST 600\n"
        "    command: bstdg-train -m experiment=mnist_bstdg seed=1,2\n"
        "  - title: F-MNIST\n")
    (repo / "docs" / "results.yaml").write_text(spec)
    text = _build(repo, LATER)
    assert "| mnist_bstdg | 1 | 1 |" in _section(text, "MNIST 600")  # the new runs
    old = _section(text, "MNIST 600, previous recipe")
    assert KEPT_MARK in old and "| mnist_bstdg | 2 | 1,2 |" in old
    assert "| [MNIST 600, previous recipe](#mnist-600-previous-recipe) | 2 | 97.50 ± 0.71 |" \
        in text.split("\n## ")[0]
