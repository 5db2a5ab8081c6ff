"""History sections (earlier defaults, screens) come after the table rows, in an overview
table of their own, and stay out of the README's table."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import pytest

from bstdg.report.previous_doc import KEPT_MARK
from bstdg.report.results_doc import SpecError, build_results_doc, update_readme_block
from helpers.report_fakes import finished, write_run

NOW = dt.datetime(2030, 1, 2, 3, 4, tzinfo=dt.timezone.utc)
SPEC = """\
sections:
  - title: MNIST old recipe
    history: true
    runs: logs/tables/mnist_old
    command: bstdg-train -m experiment=mnist_bstdg seed=1 model.net.hidden_dropout=0.0
  - title: MNIST 600
    runs: logs/tables/mnist
    command: bstdg-train -m experiment=mnist_bstdg seed=1
"""
HEADING = "## Earlier defaults and screens\n"


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    for name, acc in (("mnist_old", 0.960), ("mnist", 0.971)):
        write_run(tmp_path / "logs" / "tables" / name, "0", **finished(1, 64, acc, 50.0),
                  experiment="mnist_bstdg")
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "results.yaml").write_text(SPEC)
    return tmp_path


def _build(repo: Path):
    return build_results_doc(repo / "docs" / "results.yaml", repo / "docs" / "results.md",
                             root=repo, now=NOW)


def test_history_sections_follow_the_rows_under_their_own_heading(repo: Path) -> None:
    text = _build(repo).text
    rows_overview, history_overview = text.split("**Earlier defaults and screens**")
    assert "[MNIST 600](#mnist-600) | 1 | 97.10 |" in rows_overview
    assert "MNIST old recipe" not in rows_overview
    assert "[MNIST old recipe](#mnist-old-recipe) | 1 | 96.00 |" in history_overview
    # the spec lists the history section first; the document puts it after the rows
    assert text.index("## MNIST 600\n") < text.index(HEADING) < \
        text.index("## MNIST old recipe\n")


def test_a_kept_history_section_stays_in_the_history_table(repo: Path) -> None:
    _build(repo)
    shutil.rmtree(repo / "logs" / "tables" / "mnist_old")
    text = _build(repo).text
    history = text.split(HEADING)[1]
    assert KEPT_MARK in history and "96.00" in history
    assert text.count(HEADING) == 1
    history_overview = text.split("**Earlier defaults and screens**")[1].split(HEADING)[0]
    assert "| [MNIST old recipe](#mnist-old-recipe) | 1 | 96.00 | – | – (kept) |" in \
        history_overview


def test_a_kept_row_before_the_history_heading_does_not_take_it_in(repo: Path) -> None:
    """The last table row, kept from the earlier document, ends where the heading starts."""
    _build(repo)
    shutil.rmtree(repo / "logs" / "tables" / "mnist")
    second = _build(repo).text
    assert _build(repo).text == second
    assert second.count(HEADING) == 1
    kept = second.split("\n## MNIST 600\n")[1].split(HEADING)[0]
    assert KEPT_MARK in kept and "97.10" in kept and "Earlier defaults" not in kept


def test_the_readme_lists_the_rows_and_links_the_history(repo: Path) -> None:
    readme = repo / "README.md"
    readme.write_text("# P\n<!-- results:begin -->\nold\n<!-- results:end -->\nrest\n")
    update_readme_block(readme, _build(repo), "docs/results.md")
    block = readme.read_text()
    assert "[MNIST 600](docs/results.md#mnist-600)" in block
    assert "MNIST old recipe" not in block
    assert ("Plus 1 section of [earlier defaults and screens]"
            "(docs/results.md#earlier-defaults-and-screens)") in block
    assert block.endswith("<!-- results:end -->\nrest\n")


def test_a_document_without_history_has_no_history_heading(repo: Path) -> None:
    (repo / "docs" / "results.yaml").write_text(SPEC.replace("    history: true\n", ""))
    text = _build(repo).text
    assert "Earlier defaults and screens" not in text


def test_no_section_may_take_the_history_heading_as_its_title(repo: Path) -> None:
    (repo / "docs" / "results.yaml").write_text(SPEC.replace("title: MNIST 600",
                                                             "title: Earlier defaults and screens"))
    with pytest.raises(SpecError, match="heading of the history block"):
        _build(repo)


def test_history_must_be_a_boolean(repo: Path) -> None:
    (repo / "docs" / "results.yaml").write_text(SPEC.replace("history: true",
                                                             "history: 'yes'"))
    with pytest.raises(SpecError, match=r"'MNIST old recipe'.*history must be true or false"):
        _build(repo)
