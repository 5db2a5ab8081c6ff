"""A results document is made from runs only: logs/ and the run archive, which holds exactly
the runs the sections read, so that a clone without logs/ regenerates the same document."""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import pytest

from bstdg.report.cli import main
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


def test_the_document_does_not_depend_on_where_it_is_written(repo: Path) -> None:
    (repo / "docs" / "results.md").write_text("## MNIST 600\n\nhand-written, 99.99 %\n")
    spec = repo / "docs" / "results.yaml"
    texts = []
    for out in (repo / "docs" / "results.md", repo / "elsewhere" / "X.md"):
        build_results_doc(spec, out, root=repo, now=NOW)
        texts.append(out.read_text())
    assert texts[0] == texts[1]
    assert "99.99" not in texts[0]  # never read back from the document it replaces
    assert "bstdg-report --doc docs/results.yaml --out docs/results.md" in texts[0]


def test_the_archive_drops_runs_no_section_reads(repo: Path) -> None:
    stale = {"logs/tables/old_screen/0": {"status": "finished", "test/acc": 0.5}}
    (repo / "docs" / "results_runs.json").write_text(json.dumps({"format": 1, "runs": stale}))
    _build(repo)
    assert sorted(_archive(repo)["runs"]) == ["logs/tables/mnist/0", "logs/tables/mnist/1"]


def test_a_section_with_no_run_says_what_to_run(repo: Path,
                                               capsys: pytest.CaptureFixture) -> None:
    fmnist = _section(_build(repo), "F-MNIST")
    assert "**Not run yet:** `bstdg-train -m experiment=fmnist_bstdg seed=1,2`" in fmnist
    assert main(["--doc", str(repo / "docs" / "results.yaml"),
                 "--out", str(repo / "docs" / "results.md"), "--root", str(repo)]) == 0
    err = capsys.readouterr().err
    assert "'F-MNIST' has no run in logs/tables/fmnist nor in the archive: run " \
           "`bstdg-train -m experiment=fmnist_bstdg seed=1,2`" in err


def test_the_archive_drops_runs_a_sections_filter_leaves_out(repo: Path) -> None:
    write_run(repo / "logs" / "tables" / "mnist", "2", **finished(3, 64, 0.9, 50.0),
              experiment="mnist_other")
    spec = SPEC.replace("    targets:", "    filter: {experiment: mnist_bstdg}\n    targets:", 1)
    (repo / "docs" / "results.yaml").write_text(spec)
    text = _build(repo)
    assert sorted(_archive(repo)["runs"]) == ["logs/tables/mnist/0", "logs/tables/mnist/1"]
    shutil.rmtree(repo / "logs")
    assert _build(repo) == text


def test_a_filter_that_matches_no_run_keeps_the_sections_archived_runs(repo: Path) -> None:
    _build(repo)
    spec = SPEC.replace("    targets:", "    filter: {experiment: mnist_typo}\n    targets:", 1)
    (repo / "docs" / "results.yaml").write_text(spec)
    assert "Not run yet" in _section(_build(repo), "MNIST 600")
    assert sorted(_archive(repo)["runs"]) == ["logs/tables/mnist/0", "logs/tables/mnist/1"]
