"""Markdown, CSV and LaTeX tables of aggregated runs, the skipped list, the published block."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from bstdg.report.aggregate import COMMIT, EPOCHS, WALL_MIN
from bstdg.report.formatting import (
    format_key,
    format_minutes,
    is_accuracy,
    is_missing,
    key_header,
    mean_std,
)
from bstdg.report.runs import RUN_DIR, SKIP_REASON

# The headline metrics of the main table (mean ± std in percent); the rest go to the
# "other metrics" table.
HEADLINE_METRICS = ("test/acc", "test/acc_ties")


def _metrics_of(agg: pd.DataFrame) -> list[str]:
    suffix = " mean"
    return [c.removesuffix(suffix) for c in agg.columns if c.endswith(suffix)]


def _keys_of(agg: pd.DataFrame) -> list[str]:
    return list(agg.columns[: list(agg.columns).index("n")])


def _md_table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table; cells on one line, pipes escaped."""
    def cell(value: object) -> str:
        return " ".join(str(value).split()).replace("|", "\\|")

    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(cell(c) for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(r) for r in rows)])


def _cell(row: pd.Series, column: str) -> str:
    """A provenance or key cell of an aggregated row (``–`` when absent)."""
    value = row.get(column)
    if column == WALL_MIN:
        return format_minutes(value)
    return "–" if is_missing(value) or value == "" else format_key(value)


def metric_header(metric: str) -> str:
    """Column title of a metric: accuracies say they are in percent."""
    return f"{metric} (%)" if is_accuracy(metric) else metric


def measured_markdown(agg: pd.DataFrame) -> str:
    """The main table: grouping keys, n, seeds, epochs, ``test/acc`` and ``test/acc_ties``
    as mean ± std in percent, mean wall time per run (minutes) and the git commit(s)."""
    keys, metrics = _keys_of(agg), _metrics_of(agg)
    shown = [m for m in HEADLINE_METRICS if m in metrics]
    header = [*(key_header(k) for k in keys), "n", "seeds", EPOCHS,
              *(metric_header(m) for m in shown), "wall/run (min)", COMMIT]
    rows = [
        [*(format_key(row[k]) for k in keys), str(row["n"]), row["seeds"] or "–",
         _cell(row, EPOCHS), *(mean_std(row, m, percent=True) for m in shown),
         _cell(row, WALL_MIN), _cell(row, COMMIT)]
        for _, row in agg.iterrows()
    ]
    return _md_table(header, rows)


def details_markdown(agg: pd.DataFrame) -> str | None:
    """The other metrics (mean ± std, accuracies in percent) per group; None if none."""
    keys = _keys_of(agg)
    metrics = [m for m in _metrics_of(agg) if m not in HEADLINE_METRICS]
    if not metrics:
        return None
    header = [*(key_header(k) for k in keys), *(metric_header(m) for m in metrics)]
    rows = [
        [*(format_key(row[k]) for k in keys),
         *(mean_std(row, m, percent=is_accuracy(m)) for m in metrics)]
        for _, row in agg.iterrows()
    ]
    return _md_table(header, rows)


def summary_markdown(agg: pd.DataFrame) -> str:
    """The main table, then the other metrics under a heading (when there are any)."""
    details = details_markdown(agg)
    parts = [measured_markdown(agg)]
    if details is not None:
        parts += ["### Other metrics (mean ± std)", details]
    return "\n\n".join(parts)


def published_markdown(published: pd.DataFrame) -> str:
    """Published baseline numbers, one row per method and dataset, with the source."""
    header = ["method", "dataset", "weights", "structure", "test acc (%)", "evidence",
              "source"]
    rows = []
    for _, r in published.iterrows():
        acc = "unknown (not public)" if is_missing(r["acc_percent"]) else f"{r['acc_percent']:g}"
        note = "" if is_missing(r["note"]) else f" ({r['note']})"
        rows.append([r["method"], r["dataset"], r["weights"], r["structure"], acc,
                     f"{r['evidence']}{note}", r["citation"]])
    return _md_table(header, rows)


def skipped_markdown(skipped: pd.DataFrame) -> str:
    """The runs left out of the averages, with their reason."""
    if skipped.empty:
        return "No run was skipped."
    rows = [[r[RUN_DIR], format_key(r.get("experiment")), format_key(r.get("seed")),
             r[SKIP_REASON]] for _, r in skipped.iterrows()]
    return _md_table(["run", "experiment", "seed", "reason"], rows)


def report_markdown(
    agg: pd.DataFrame, skipped: pd.DataFrame, published: pd.DataFrame | None = None
) -> str:
    """table.md: the measured table, the published block (if any), the skipped runs."""
    n_runs = int(agg["n"].sum()) if not agg.empty else 0
    keys = ", ".join(key_header(k) for k in _keys_of(agg)) or "(none)"
    parts = [
        "# Measured results",
        f"{n_runs} finished runs in {len(agg)} groups, grouped by: {keys}. Metric cells are "
        "the mean ± sample standard deviation over the runs of a group (mean alone for one "
        "run), accuracies in percent; epochs is trainer.max_epochs, wall/run the mean wall "
        "time of a run, commit the short git hash (+dirty: the run's tree had uncommitted "
        "changes). table.csv has n, min and max per metric.",
        summary_markdown(agg),
    ]
    if published is not None and not published.empty:
        parts += ["## Published (not measured here)",
                  "Test accuracies reported by the papers; BSTDG's own are not public.",
                  published_markdown(published)]
    parts += [f"## Skipped runs ({len(skipped)}, not averaged)", skipped_markdown(skipped)]
    return "\n\n".join(parts) + "\n"


LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                 "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                 "^": r"\textasciicircum{}"}


def latex_escape(text: str) -> str:
    return "".join(LATEX_SPECIAL.get(ch, ch) for ch in str(text))


def _latex_tabular(header: Sequence[str], rows: Sequence[Sequence[str]], align: str) -> str:
    lines = [rf"\begin{{tabular}}{{{align}}}", r"\toprule",
             " & ".join(header) + r" \\", r"\midrule"]
    lines += [" & ".join(r) + r" \\" for r in rows]
    lines += [r"\bottomrule", r"\end{tabular}"]
    return "\n".join(lines)


def measured_latex(agg: pd.DataFrame) -> str:
    """The aggregated table as a booktabs tabular (``mean $\\pm$ std``)."""
    keys, metrics = _keys_of(agg), _metrics_of(agg)
    header = [latex_escape(key_header(k)) for k in keys] + ["n"] + [
        latex_escape(metric_header(m)) for m in metrics]
    rows = [
        [*(latex_escape(format_key(row[k])) for k in keys), str(row["n"]),
         *(latex_escape(mean_std(row, m, " PM ", percent=is_accuracy(m))).replace(
             " PM ", r" $\pm$ ") for m in metrics)]
        for _, row in agg.iterrows()
    ]
    return _latex_tabular(header, rows, "l" * len(keys) + "r" * (1 + len(metrics)))


def published_latex(published: pd.DataFrame) -> str:
    header = ["method", "dataset", "weights", "structure", r"test acc (\%)"]
    rows = [
        [latex_escape(r["method"]), latex_escape(r["dataset"]), latex_escape(r["weights"]),
         latex_escape(r["structure"]),
         "unknown" if is_missing(r["acc_percent"]) else f"{r['acc_percent']:g}"]
        for _, r in published.iterrows()
    ]
    return _latex_tabular(header, rows, "lllll")


def report_latex(agg: pd.DataFrame, published: pd.DataFrame | None = None) -> str:
    """table.tex: booktabs tabulars (measured; published, marked, when given)."""
    parts = ["% Measured: mean $\\pm$ sample std over seeds, accuracies in % (bstdg-report).",
             measured_latex(agg)]
    if published is not None and not published.empty:
        parts += ["% Published (not measured here); BSTDG's own numbers are not public.",
                  published_latex(published)]
    return "\n\n".join(parts) + "\n"


def write_tables(
    agg: pd.DataFrame,
    out: str | Path,
    skipped: pd.DataFrame | None = None,
    published: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
    stem: str = "table",
) -> list[Path]:
    """Write ``<stem>.md``, ``<stem>.csv``, ``<stem>.tex`` and ``skipped.md`` (and
    ``runs.csv``, one row per run, when ``runs`` is given) into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    skipped = pd.DataFrame(columns=[RUN_DIR, SKIP_REASON]) if skipped is None else skipped
    written = {
        out / f"{stem}.md": report_markdown(agg, skipped, published),
        out / f"{stem}.tex": report_latex(agg, published),
        out / "skipped.md": f"# Skipped runs (not averaged)\n\n{skipped_markdown(skipped)}\n",
    }
    for path, text in written.items():
        path.write_text(text)
    agg.to_csv(out / f"{stem}.csv", index=False)
    paths = [*written, out / f"{stem}.csv"]
    if runs is not None:
        runs.to_csv(out / "runs.csv", index=False)
        paths.append(out / "runs.csv")
    return paths

