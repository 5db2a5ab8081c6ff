"""docs/results.md from a spec (docs/results.yaml): one section per table row or sweep.

    bstdg-report --doc docs/results.yaml --out docs/results.md

    from bstdg.report.results_doc import build_results_doc
    build_results_doc("docs/results.yaml", "docs/results.md")

Each section of the spec names the folder its table recipe writes (``sweeps/table_<name>.sh``),
a filter on the runs' config that picks the row's runs there, the recipe's command, the
protocol, the target (free text, and optionally machine-checkable targets compared with the
mean over seeds), the published rows to show beside the measured ones and, for a table row,
its place in the methods x datasets comparison. The document is made from runs only: the
metrics.json files under ``logs/`` and the spec's ``archive`` file, which keeps the runs every
section reads so that a clone without ``logs/`` regenerates the same document
(report.run_archive). Where the document is written changes nothing in it. The spec is parsed
by report.results_spec.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from bstdg.report.aggregate import (
    COMMIT,
    EPOCHS,
    METRICS,
    WALL_MIN,
    aggregate,
    default_group_keys,
    stat_column,
)
from bstdg.report.formatting import (
    DATASET_NAMES,
    format_key,
    format_minutes,
    is_accuracy,
    is_missing,
    key_header,
    mean_std,
)
from bstdg.report.published import published_results
from bstdg.report.results_spec import (
    ResultsSpec,
    Section,
    SpecError,
    load_spec,
    value_text,
)
from bstdg.report.run_archive import (
    archive_record,
    archived_runs,
    local_metrics_files,
    read_archive,
    write_archive,
)
from bstdg.report.runs import (
    CFG_PREFIX,
    RUN_DIR,
    SKIP_REASON,
    load_records,
    load_runs,
    skipped_runs,
    usable_runs,
)
from bstdg.report.tables import _md_table
from bstdg.utils.run_info import git_commit, git_dirty

# Metric columns of every measured table, in order, with their headers.
DOC_METRICS: tuple[tuple[str, str], ...] = (
    ("test/acc", "acc (%)"),
    ("test/acc_ties", "acc_ties (%)"),
    ("test/hidden_spikes", "hidden spikes"),
    ("test/hidden_spikes_before_decision", "hidden spikes before decision"),
    ("test/decision_time", "decision step"),
    ("test/no_output_spike_frac", "no-output frac"),
)
# Headers of extra metric columns (a section's `metrics:`) that are not shown as their key.
EXTRA_HEADERS: dict[str, str] = {
    "test_epoch/acc_best": "acc, best test epoch (%)",
    "test_epoch/acc_ties_best": "acc_ties, best test epoch (%)",
}
MET, MISSED, NOT_EVALUATED, NOT_RUN = "met", "missed", "not evaluated", "not run yet"
DOC_COMMAND = "bstdg-report --doc {spec} --out docs/results.md"
# Column order of the comparison table (published.yaml's dataset names).
COMPARISON_DATASETS = ("caltech_face_motorbike", "mnist", "fmnist", "shd")


@dataclass
class SectionResult:
    """What one section measured: its markdown, verdicts and problems."""

    section: Section
    markdown: str
    verdict: str
    n_runs: int = 0
    problems: list[str] = field(default_factory=list)
    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    files: dict[str, Path] = field(default_factory=dict)
    archived: dict[str, Any] = field(default_factory=dict)


# ----------------------------------------------------------------------------- runs


def _column(runs: pd.DataFrame, key: str) -> str | None:
    for name in (key, f"{CFG_PREFIX}{key}"):
        if name in runs:
            return name
    return None


def _decoded(cell: Any) -> Any:
    """Lists and dicts were stored as compact JSON text by the loader: parse them back."""
    if isinstance(cell, str) and cell[:1] in "[{":
        try:
            return json.loads(cell)
        except ValueError:
            return cell
    return cell


def _matches(cell: Any, wanted: Any) -> bool:
    """A run's value equals the filter value (or one of a list of accepted values)."""
    if is_missing(cell):
        return False
    value = _decoded(cell)
    candidates = [wanted, *wanted] if isinstance(wanted, list) else [wanted]
    return any(value == c or str(value) == str(c) for c in candidates)


def filter_runs(runs: pd.DataFrame, filt: Mapping[str, Any]) -> tuple[pd.DataFrame, list[str]]:
    """The runs whose values match every ``filt`` entry, and the filter keys no run has.

    A run that has none of the filter keys (an unreadable ``metrics.json``) is kept when it is
    skipped anyway, so that it is listed rather than lost."""
    keep = pd.Series(True, index=runs.index)
    unknown_to_run = pd.Series(True, index=runs.index)
    absent = []
    for key, wanted in filt.items():
        column = _column(runs, key)
        if column is None:
            absent.append(key)
            keep &= False
            continue
        keep &= runs[column].map(lambda cell, w=wanted: _matches(cell, w))
        unknown_to_run &= runs[column].map(is_missing)
    if filt:
        keep |= unknown_to_run & runs[SKIP_REASON].notna()
    return runs[keep], absent


# ----------------------------------------------------------------------------- rendering


def _filter_text(filt: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in filt.items())


def _group_label(row: pd.Series, keys: Sequence[str]) -> str:
    return ", ".join(f"{key_header(k)} = {format_key(row[k])}" for k in keys)


def _keys_of(agg: pd.DataFrame) -> list[str]:
    return list(agg.columns[: list(agg.columns).index("n")])


def measured_table(agg: pd.DataFrame, extra: Sequence[str] = ()) -> str:
    """The section's table: keys, n, seeds, epochs, the :data:`DOC_METRICS` (accuracies in
    percent, mean ± std), the ``extra`` metrics present, wall time per run and commit."""
    keys = _keys_of(agg)
    shown = [(m, label) for m, label in DOC_METRICS if stat_column(m, "mean") in agg]
    shown += [(m, EXTRA_HEADERS.get(m, m)) for m in extra
              if stat_column(m, "mean") in agg and m not in dict(DOC_METRICS)]
    header = [*(key_header(k) for k in keys), "n", "seeds", EPOCHS,
              *(label for _, label in shown), "wall/run (min)", COMMIT]
    rows = []
    for _, row in agg.iterrows():
        epochs = row.get(EPOCHS)
        rows.append([*(format_key(row[k]) for k in keys), str(row["n"]), row["seeds"] or "–",
                     epochs if isinstance(epochs, str) and epochs else "–",
                     *(mean_std(row, m, percent=is_accuracy(m)) for m, _ in shown),
                     format_minutes(row.get(WALL_MIN)), row.get(COMMIT) or "–"])
    return _md_table(header, rows)


def published_table(published: pd.DataFrame) -> str:
    """Published rows, each accuracy marked ``(published)``; BSTDG's own stay unknown."""
    rows = []
    for _, r in published.iterrows():
        acc = ("unknown (not public)" if is_missing(r["acc_percent"])
               else f"{float(r['acc_percent']):.1f} (published)")
        note = "" if is_missing(r["note"]) else f" ({r['note']})"
        rows.append([r["method"], r["dataset"], r["weights"], r["structure"], acc,
                     f"{r['evidence']}{note}", r["citation"]])
    return _md_table(["method", "dataset", "weights", "structure", "test acc (%)", "evidence",
                      "source"], rows)


def _relative(path: str, root: Path) -> str:
    """``path`` relative to ``root`` when it lies beneath it, else unchanged."""
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return path


def skipped_table(skipped: pd.DataFrame, root: Path) -> str:
    rows = [[f"`{_relative(r[RUN_DIR], root)}`", format_key(r.get("experiment")),
             format_key(r.get("seed")), r[SKIP_REASON]] for _, r in skipped.iterrows()]
    return _md_table(["run", "experiment", "seed", "reason"], rows)


def _verdicts(section: Section, agg: pd.DataFrame) -> tuple[list[str], str]:
    """One line per target and group, and the section's overall verdict."""
    if not section.targets:
        return [], "–"
    if agg.empty:
        return [f"{t.text()}: **{NOT_EVALUATED}** (no finished run)" for t in section.targets], \
            NOT_EVALUATED
    keys = _keys_of(agg)
    lines, outcomes = [], []
    for target in section.targets:
        for _, row in agg.iterrows():
            where = f" ({_group_label(row, keys)})" if len(agg) > 1 and keys else ""
            mean = row.get(stat_column(target.metric, "mean"))
            n = row.get(stat_column(target.metric, "n"))
            if is_missing(mean):
                lines.append(f"{target.text()}{where}: **{NOT_EVALUATED}** (no run has "
                             f"`{target.metric}`)")
                outcomes.append(NOT_EVALUATED)
                continue
            measured = f"mean {value_text(target.metric, mean)} over {int(n)} runs"
            if int(n) < section.min_runs:
                lines.append(f"{target.text()}{where}: **{NOT_EVALUATED}** ({measured}; the "
                             f"target needs ≥ {section.min_runs} runs)")
                outcomes.append(NOT_EVALUATED)
                continue
            verdict = MET if target.met(float(mean)) else MISSED
            lines.append(f"{target.text()}{where}: {measured}: **{verdict}**")
            outcomes.append(verdict)
    if MISSED in outcomes:
        n_met = outcomes.count(MET)
        overall = MISSED if len(outcomes) == 1 else f"{MISSED} ({n_met} of {len(outcomes)} met)"
    elif NOT_EVALUATED in outcomes:
        overall = NOT_EVALUATED
    else:
        overall = MET
    return lines, overall


def _runs_text(section: Section) -> str:
    runs = ", ".join(f"`{r}`" for r in section.runs)
    return runs + (f" (filter: {_filter_text(section.filter)})" if section.filter else "")


def _load(section: Section, root: Path, archived: Mapping[str, Any]
          ) -> tuple[pd.DataFrame, list[str], dict[str, Path], dict[str, Any]]:
    """Every run of the section's entries (empty when none), the entries with no run, the
    metrics.json files read under ``root`` by archive key, and the archived runs read
    instead where ``root`` has no such run (``archived``: the archive's runs by key)."""
    missing: list[str] = []
    files: dict[str, Path] = {}
    stored: dict[str, Any] = {}
    for entry in section.runs:
        local = local_metrics_files(root, entry)
        kept = archived_runs(archived, entry)
        if not local and not kept:
            missing.append(entry)
        files.update(local)
        stored.update(kept)
    stored = {k: v for k, v in stored.items() if k not in files}  # logs/ wins
    frames = [df for df in (load_runs(list(files.values())) if files else None,
                            load_records({str(root / k): v for k, v in stored.items()})
                            if stored else None) if df is not None]
    loaded = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    return loaded, missing, files, stored


def render_section(section: Section, root: str | Path,
                   archived: Mapping[str, Any] | None = None) -> SectionResult:
    """The Markdown of one section: measured table, target, published rows, skipped runs.
    Runs are read under ``root`` and, where absent there, from ``archived`` (the run
    archive's runs by run dir relative to ``root``)."""
    root = Path(root)
    head = [f"**Command:** `{section.command}`", f"**Runs:** {_runs_text(section)}"]
    if section.protocol:
        head.append(f"**Protocol:** {section.protocol}")
    parts = [f"## {section.title}", *([section.notes] if section.notes else []),
             "  \n".join(head)]
    problems: list[str] = []
    target_lines = [section.target] if section.target else []
    body: list[str] = []
    agg = pd.DataFrame()
    n_runs = 0

    loaded, missing, files, stored = _load(section, root, archived or {})
    runs, absent = filter_runs(loaded, section.filter) if not loaded.empty else (loaded, [])
    if section.filter and not runs.empty:  # archive only the runs the section shows
        shown = set(runs[RUN_DIR])
        files = {k: f for k, f in files.items() if str(f.parent) in shown}
        stored = {k: v for k, v in stored.items() if str(root / k) in shown}
    if runs.empty:
        if loaded.empty:
            why = f"no metrics.json at or beneath {', '.join(f'`{r}`' for r in section.runs)}"
        else:
            why = f"no run matches the filter {_filter_text(section.filter)}"
            if absent:
                why += f"; no run has the key(s) {', '.join(absent)}"
        body.append(f"**{NOT_RUN.capitalize()}:** `{section.command}` ({why}).")
        lines, _ = _verdicts(section, agg)
        verdict = NOT_RUN
    else:
        skipped, usable = skipped_runs(runs), usable_runs(runs)
        n_runs = len(usable)
        if not usable.empty:
            try:
                by = section.by if section.by is not None else default_group_keys(runs)
                extra = [m for m in section.metrics if m not in METRICS]
                agg = aggregate(runs, by=by, metrics=[*METRICS, *extra])
            except KeyError as err:
                message = err.args[0] if err.args else str(err)
                problems.append(f"{section.title}: {message}")
                body.append(f"**Cannot group the runs:** {message}.")
        if not agg.empty:
            keys = ", ".join(key_header(k) for k in _keys_of(agg)) or "(none)"
            body += [f"**Measured** ({n_runs} finished runs, grouped by {keys}; accuracies "
                     "in %, mean ± sample std over the runs of a group):",
                     measured_table(agg, section.metrics)]
        elif usable.empty:
            body.append(f"**No finished run yet** ({len(skipped)} started, listed below); "
                        f"command: `{section.command}`.")
        lines, verdict = _verdicts(section, agg)
        body.append(f"**Skipped runs** ({len(skipped)}, not averaged): "
                    + ("none." if skipped.empty else f"\n\n{skipped_table(skipped, root)}"))
    if missing and not loaded.empty:
        body.append(f"Not found: {', '.join(f'`{m}`' for m in missing)}.")
    target_lines += lines
    if section.decision_speed is not None and verdict != NOT_RUN:
        line, speed = section.decision_speed.evaluate(agg)
        target_lines.append(line)
        verdict = speed if verdict == "–" else f"{verdict}; {speed}"
    if target_lines:
        parts.append("**Target:** " + target_lines[0] if len(target_lines) == 1 else
                     "**Target:**\n\n" + "\n".join(f"- {line}" for line in target_lines))
    parts += body
    if section.published is not None:
        rows = section.published.rows()
        if not rows.empty:
            parts += ["**Published** (the papers' numbers, not measured here):",
                      published_table(rows)]
    return SectionResult(section, "\n\n".join(parts), verdict, n_runs, problems, agg, files,
                         stored)


# ----------------------------------------------------------------------------- document


def _git_toplevel(start: Path) -> Path | None:
    try:
        out = subprocess.run(["git", "rev-parse", "--show-toplevel"], cwd=start,
                             capture_output=True, text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return Path(out.stdout.strip()) if out.returncode == 0 and out.stdout.strip() else None


def default_root(spec_path: str | Path) -> Path:
    """The git checkout holding the spec file, else the current directory."""
    return _git_toplevel(Path(spec_path).resolve().parent) or Path.cwd()


def _commit_text(root: Path) -> str:
    commit = git_commit(root)
    if commit is None:
        return "an unknown commit (not a git checkout)"
    return f"commit {commit[:7]}" + (" (+dirty: uncommitted changes)" if git_dirty(root) else "")


def _headline(agg: pd.DataFrame) -> str:
    """acc / acc_ties of a one-group section (mean ± std, %); the acc range of several."""
    if agg.empty:
        return "–"
    if len(agg) == 1:
        row = agg.iloc[0]
        return " / ".join(mean_std(row, m, percent=True) for m in ("test/acc", "test/acc_ties")
                          if stat_column(m, "mean") in agg)
    means = agg[stat_column("test/acc", "mean")] * 100.0
    return f"{len(agg)} groups, acc {means.min():.2f}–{means.max():.2f}"


def _overview(results: Sequence[SectionResult], link: str = "") -> str:
    """One row per section; headings are linked as ``{link}#anchor``."""
    rows = []
    for r in results:
        target = r.section.target or ("; ".join(t.text() for t in r.section.targets) or "–")
        rows.append([f"[{r.section.title}]({link}#{_anchor(r.section.title)})", str(r.n_runs),
                     _headline(r.table), target, r.verdict])
    return _md_table(["section", "finished runs", "acc / acc_ties (%)", "target", "verdict"],
                     rows)


def _anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped, spaces as hyphens."""
    kept = "".join(ch for ch in title.lower() if ch.isalnum() or ch in " -_")
    return kept.replace(" ", "-")


@dataclass
class ResultsDoc:
    """The generated document and what went into it."""

    text: str
    sections: list[SectionResult]
    out: Path | None = None

    @property
    def problems(self) -> list[str]:
        return [p for s in self.sections for p in s.problems]


def _cell(row: pd.Series, metric: str) -> str:
    return mean_std(row, metric, percent=True) if stat_column(metric, "mean") in row else "–"


def comparison_table(results: Sequence[SectionResult]) -> str:
    """Methods x datasets as the papers lay them out: the rows measured here (sections with a
    ``row``, mean ± std over seeds, acc / acc with ties) above the published numbers."""
    measured: dict[tuple[str, str], dict[str, list[str]]] = {}
    for r in results:
        if r.section.row is None or len(r.table) != 1:
            continue
        row, agg = r.section.row, r.table.iloc[0]
        cell = (f"{_cell(agg, 'test/acc')} / {_cell(agg, 'test/acc_ties')} "
                f"({row.structure}, n = {agg['n']})")
        measured.setdefault((row.method, "measured here"), {}).setdefault(
            row.dataset, []).append(cell)
    published = published_results()
    published = published[published["acc_percent"].notna()]
    datasets = [d for d in COMPARISON_DATASETS
                if any(d in cells for cells in measured.values())
                or d in set(published["dataset"])]
    rows = [[method, source, *("<br>".join(cells.get(d, [])) or "–" for d in datasets)]
            for (method, source), cells in measured.items()]
    for method, group in published.groupby("method", sort=False):
        cells = {}
        for _, p in group.iterrows():
            structure = "" if p["structure"] == "unknown" else f" ({p['structure']})"
            cells[p["dataset"]] = f"{float(p['acc_percent']):.1f}{structure}"
        rows.append([method, f"published; weights: {group['weights'].iloc[0]}",
                     *(cells.get(d, "–") for d in datasets)])
    return _md_table(["method", "source", *(DATASET_NAMES[d] for d in datasets)], rows)


def results_markdown(
    spec: ResultsSpec,
    root: str | Path,
    now: dt.datetime | None = None,
    archived: Mapping[str, Any] | None = None,
) -> ResultsDoc:
    """The whole document: generated-by header, overview of verdicts, the methods x datasets
    comparison and one section each, from the runs under ``root`` and in ``archived`` (the
    run archive's runs)."""
    root = Path(root)
    now = now or dt.datetime.now(dt.timezone.utc)
    results = [render_section(s, root, archived) for s in spec.sections]
    spec_rel = _relative(str(spec.path.resolve()), root.resolve())
    command = DOC_COMMAND.format(spec=spec_rel)
    header = (
        f"<!-- Generated file: do not edit. Edit {spec_rel} and rerun: {command} -->\n\n"
        f"# {spec.title}\n\n"
        f"Generated by `{command}` on {now:%Y-%m-%d %H:%M} UTC from {_commit_text(root)}; "
        f"edit `{spec_rel}`, not this file. Accuracies are test-set percentages, mean ± sample "
        "std over the runs (seeds) of a group; verdicts compare the mean with the target. Runs "
        "that failed or did not finish are listed under their section, never averaged."
    )
    parts = [header]
    if spec.intro:
        parts.append(spec.intro)
    parts.append(_overview(results))
    if any(r.section.row is not None for r in results):
        parts += ["## Comparison with the published numbers\n\nTest accuracy (%), acc / acc "
                  "with ties counted as correct for the rows measured here (mean ± std over "
                  "seeds); the papers' own numbers below them, as published (the papers count "
                  "ties as correct and report their best run or epoch).",
                  comparison_table(results)]
    parts += [r.markdown for r in results]
    return ResultsDoc("\n\n".join(parts) + "\n", results)


README_BEGIN = "<!-- results:begin -->"
README_END = "<!-- results:end -->"


def update_readme_block(readme: str | Path, doc: ResultsDoc, doc_link: str) -> Path:
    """Replace the lines between ``README_BEGIN`` and ``README_END`` in ``readme`` with the
    document's overview table (section links pointing into ``doc_link``)."""
    readme = Path(readme)
    text = readme.read_text()
    if text.count(README_BEGIN) != 1 or text.count(README_END) != 1:
        raise SpecError(f"{readme} must hold exactly one '{README_BEGIN}' line and one "
                        f"'{README_END}' line where the results overview goes; add them")
    head, rest = text.split(README_BEGIN)
    _, tail = rest.split(README_END)
    block = (f"{README_BEGIN}\n<!-- generated from {doc_link} by bstdg-report --doc; do not edit "
             f"-->\n{_overview(doc.sections, doc_link)}\n{README_END}")
    tmp = readme.with_name(f".{readme.name}.{os.getpid()}.tmp")
    tmp.write_text(head + block + tail)
    os.replace(tmp, readme)
    return readme


def build_results_doc(
    spec_path: str | Path,
    out: str | Path | None = None,
    root: str | Path | None = None,
    now: dt.datetime | None = None,
) -> ResultsDoc:
    """Read the spec, render every section from the runs beneath ``root`` (default: the git
    checkout holding the spec) and the spec's archive, and write ``out`` (when given,
    atomically; the text does not depend on where).

    With ``out`` and an ``archive`` in the spec, the archive is rewritten to hold exactly the
    runs the sections read (their metrics.json objects, logs/ before the archive), so that a
    regeneration without ``logs/`` gives the same document."""
    spec = load_spec(spec_path)
    root = Path(root) if root is not None else default_root(spec_path)
    archive = root / spec.archive if spec.archive else None
    try:
        archived = read_archive(archive) if archive is not None else {}
    except ValueError as err:
        raise SpecError(str(err)) from None
    doc = results_markdown(spec, root, now, archived)
    if out is not None:
        out = Path(out)
        if out.is_dir():
            raise IsADirectoryError(f"the results document goes to a file (e.g. "
                                    f"docs/results.md), but {out} is a directory")
        if archive is not None:
            runs: dict[str, Any] = {}
            for result in doc.sections:
                runs.update(result.archived)
                runs.update({key: archive_record(file) for key, file in result.files.items()
                             if not Path(key).is_absolute()})
            write_archive(archive, runs)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
        tmp.write_text(doc.text)
        os.replace(tmp, out)
        doc.out = out
    return doc


__all__ = [
    "DOC_METRICS", "ResultsDoc", "ResultsSpec", "Section", "SectionResult",
    "SpecError", "build_results_doc", "comparison_table", "default_root", "filter_runs",
    "load_spec", "render_section", "results_markdown", "update_readme_block",
]
