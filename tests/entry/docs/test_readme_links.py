"""The README and docs/ work from a clone.

* Every relative Markdown link, and its #anchor, resolves, in README.md and every docs/*.md.
* Every repository path they mention (``docs/x.md``, ``src/bstdg/...py``, ``conf/...yaml``,
  ``sweeps/...sh``, ``tests/...``, ``notebooks/...``) exists; so does every such path in the
  docstrings and comments under src/ (the ``docs/method.md`` a module cites, for one).
* The README stays short: at most 300 lines and 20,000 bytes.

The checkers are plain functions, and the first tests feed them broken text, so a checker
that stopped finding anything would fail here rather than pass silently.
"""

from __future__ import annotations

import ast
import io
import itertools
import re
import tokenize
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
README = REPO / "README.md"
DOCS = sorted((REPO / "docs").glob("*.md"))
PAGES = [README, *DOCS]
# Written by `bstdg-report --doc`: its links are checked, its path mentions are the spec's
# (docs/results.yaml) business.
GENERATED = {REPO / "docs" / "results.md"}
MAX_README_LINES = 300
MAX_README_BYTES = 20_000

LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
# A path from the repository root: one of the tracked top-level folders, then path characters
# or a brace group (sweeps/table_{mnist,fmnist}.sh), not preceded by a path character (so
# https://host/src/... and ../docs/x.md are not taken for one).
ROOTS = ("docs", "src", "conf", "sweeps", "tests", "notebooks")
REPO_PATH = re.compile(
    r"(?<![\w./\-])((?:" + "|".join(ROOTS) + r")/(?:[\w.\-/*<>…]|\{[^}\s]*\})*)"
)
# Files a user creates beside the tracked ones (git-ignored), which a page may name.
USER_FILES = {"conf/local/default.yaml"}


def _anchor(heading: str) -> str:
    """GitHub's anchor of a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def _without_code(text: str) -> str:
    return re.sub(r"```.*?```", "", text, flags=re.S)


def anchors(text: str) -> set[str]:
    """Anchors of a page's headings; a repeated heading gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    out = set()
    for m in re.finditer(r"^#+ (.+)$", _without_code(text), flags=re.M):
        base = _anchor(m.group(1))
        n = seen.get(base, 0)
        seen[base] = n + 1
        out.add(base if n == 0 else f"{base}-{n}")
    return out


def broken_links(text: str, page: Path) -> list[str]:
    """Relative links of ``text`` (a page at ``page``) that leave the repository, name no
    file, or name a heading the target page does not have."""
    broken = []
    for target in LINK.findall(_without_code(text)):
        if re.match(r"[a-z][a-z0-9+.\-]*:", target):
            continue  # https://, mailto:
        path, _, anchor = target.partition("#")
        if not path:  # a heading of this page
            if anchor not in anchors(text):
                broken.append(f"{target}: no heading #{anchor}")
            continue
        dest = (page.parent / path).resolve()
        if REPO not in dest.parents and dest != REPO:
            broken.append(f"{target}: outside the repository")
        elif not dest.exists():
            broken.append(f"{target}: no such file")
        elif anchor and dest.suffix == ".md" and anchor not in anchors(dest.read_text()):
            broken.append(f"{target}: no heading #{anchor}")
    return broken


def _expand(path: str) -> list[str]:
    """``a/{b,c}.sh`` -> ``a/b.sh``, ``a/c.sh`` (every brace group)."""
    parts = re.split(r"\{([^}]*)\}", path)
    options = [[p] if i % 2 == 0 else p.split(",") for i, p in enumerate(parts)]
    return ["".join(choice) for choice in itertools.product(*options)]


def repo_paths(text: str) -> list[str]:
    """The repository paths ``text`` mentions, braces expanded; templates (``<name>``, ``*``,
    ``...``) left out."""
    found = []
    for m in REPO_PATH.finditer(text):
        path = m.group(1).rstrip(".")
        if any(mark in path for mark in ("<", ">", "*", "...", "…")):
            continue
        found.extend(_expand(path))
    return found


def missing_paths(text: str) -> list[str]:
    """The repository paths ``text`` mentions that do not exist in the checkout."""
    return sorted({p for p in repo_paths(text)
                   if p not in USER_FILES and not (REPO / p).exists()})


def source_notes(path: Path) -> str:
    """The docstrings and comments of a Python file, or the comments of a YAML file."""
    text = path.read_text()
    if path.suffix != ".py":
        return "\n".join(line.split("#", 1)[1] for line in text.splitlines() if "#" in line)
    notes = [tok.string for tok in tokenize.generate_tokens(io.StringIO(text).readline)
             if tok.type == tokenize.COMMENT]
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            doc = ast.get_docstring(node, clean=False)
            if doc:
                notes.append(doc)
    return "\n".join(notes)


SOURCES = sorted(p for p in (REPO / "src" / "bstdg").rglob("*")
                 if p.suffix in (".py", ".yaml") and "__pycache__" not in p.parts)


# -- the checkers find what they should --------------------------------------------------

def test_the_checkers_catch_broken_references(tmp_path: Path) -> None:
    page = REPO / "docs" / "probe.md"  # never written: links resolve from docs/
    text = ("# Probe\n\n[ok](method.md) [gone](nowhere.md) [anchor](#probe) "
            "[bad anchor](#no-such-heading) [out](../../x.md) [web](https://example.org)\n")
    assert broken_links(text, page) == [
        "nowhere.md: no such file", "#no-such-heading: no heading #no-such-heading",
        "../../x.md: outside the repository",
    ]
    text = ("See `docs/method.md`, `docs/missing.md`, `sweeps/table_{mnist,nope}.sh` and "
            "src/bstdg/snn/nope.py. Templates pass: `conf/model/<name>.yaml`, "
            "`src/bstdg/...py`; https://github.com/x/src/a.py is a URL.")
    assert missing_paths(text) == ["docs/missing.md", "src/bstdg/snn/nope.py",
                                   "sweeps/table_nope.sh"]
    module = tmp_path / "m.py"
    module.write_text('"""Cites docs/gone.md."""\nX = "docs/in_code.md"  # and conf/gone.yaml\n')
    assert missing_paths(source_notes(module)) == ["conf/gone.yaml", "docs/gone.md"]


def test_anchors_follow_github() -> None:
    text = "# A `b` c\n## Kernel × mode\n## Kernel × mode\n```\n# not a heading\n```\n"
    assert anchors(text) == {"a-b-c", "kernel--mode", "kernel--mode-1"}


# -- the pages ----------------------------------------------------------------------------

def test_readme_is_short() -> None:
    data = README.read_bytes()
    assert len(data.decode().splitlines()) <= MAX_README_LINES
    assert len(data) <= MAX_README_BYTES


def test_readme_keeps_the_results_block() -> None:
    text = README.read_text()
    assert text.count("<!-- results:begin -->") == 1
    assert text.count("<!-- results:end -->") == 1
    assert text.index("<!-- results:begin -->") < text.index("<!-- results:end -->")


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve_inside_the_clone(page: Path) -> None:
    assert broken_links(page.read_text(), page) == []


@pytest.mark.parametrize("page", [p for p in PAGES if p not in GENERATED],
                         ids=lambda p: p.name)
def test_repository_paths_on_the_pages_exist(page: Path) -> None:
    assert missing_paths(page.read_text()) == []


def test_repository_paths_in_docstrings_and_comments_exist() -> None:
    missing = {str(p.relative_to(REPO)): bad for p in SOURCES
               if (bad := missing_paths(source_notes(p)))}
    assert missing == {}
