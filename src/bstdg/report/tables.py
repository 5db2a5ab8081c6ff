"""Markdown, CSV and LaTeX tables of aggregated runs, the skipped list, the published block.

``table.tex`` is the paper table (:func:`paper_latex`): one row per group with the method,
dataset, structure and weights the runs carry, accuracy and accuracy with ties (mean ± std,
%), hidden spikes per image, mean decision step and n; swept keys that these columns do not
show are named in the method cell. ``table_full.tex`` (``--full-tex``) has every metric."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import pandas as pd

from bstdg.report.aggregate import COMMIT, EPOCHS, WALL_MIN, stat_column
from bstdg.report.formatting import (
    dataset_name,
    format_key,
    format_minutes,
    is_accuracy,
    is_missing,
    key_header,
    mean_std,
    method_name,
    structure_text,
    weights_text,
)
from bstdg.report.runs import CFG_PREFIX, RUN_DIR, SKIP_REASON, usable_runs

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
    """table_full.tex: booktabs tabulars, every metric (measured; published, marked, when
    given)."""
    parts = ["% Measured: mean $\\pm$ sample std over seeds, accuracies in % (bstdg-report).",
             measured_latex(agg)]
    if published is not None and not published.empty:
        parts += ["% Published (not measured here); BSTDG's own numbers are not public.",
                  published_latex(published)]
    return "\n\n".join(parts) + "\n"


# --- The paper table (table.tex) ---

PAPER_MAX_COLUMNS = 9
IDENTITY = {"method": method_name, "dataset": dataset_name, "structure": structure_text,
            "weights": weights_text}
# Grouping keys that the identity columns show already (the rest go into the method cell).
SHOWN_KEYS = frozenset({"experiment", "choice/experiment", "choice/model", "choice/model/net",
                        "choice/data", f"{CFG_PREFIX}data.variant",
                        f"{CFG_PREFIX}model.net.hidden", f"{CFG_PREFIX}model.net.binary"})
KEY_NAMES = {f"{CFG_PREFIX}encoder.T": "T"}
PAPER_HEADER = ("Method", "Dataset", "Structure", "Weights", r"Acc.\ (\%)",
                r"Acc.\ w/ ties (\%)", "Hidden spikes", "Decision step", "$n$")
# (metric, decimals; None: accuracy in percent) of the paper table's number columns.
PAPER_METRICS = (("test/acc", None), ("test/acc_ties", None), ("test/hidden_spikes", 1),
                 ("test/decision_time", 2))


def _norm(value: object) -> str:
    return "\0" if is_missing(value) else format_key(value)


def group_runs(agg: pd.DataFrame, runs: pd.DataFrame) -> list[pd.DataFrame]:
    """The averageable runs behind each row of ``agg``, in its order (matched on the
    grouping keys, a missing value matching a missing one)."""
    keys, used = _keys_of(agg), usable_runs(runs)
    columns = [used[k].tolist() if k in used else [None] * len(used) for k in keys]
    run_keys = [tuple(_norm(v) for v in values) for values in zip(*columns, strict=True)]
    if not keys:
        run_keys = [()] * len(used)
    groups = []
    for _, row in agg.iterrows():
        key = tuple(_norm(row[k]) for k in keys)
        groups.append(used.iloc[[i for i, k in enumerate(run_keys) if k == key]])
    return groups


def key_label(key: str, keys: Sequence[str] = ()) -> str:
    """A short name of a grouping key: ``T`` for ``cfg/encoder.T``, else its last dotted
    part (``lr``), or the whole key when another of ``keys`` ends the same."""
    if key in KEY_NAMES:
        return KEY_NAMES[key]
    full = key_header(key)
    short = full.rsplit(".", 1)[-1]
    clash = [k for k in keys if k != key and key_header(k).rsplit(".", 1)[-1] == short]
    return full if clash else short


def _distinct_text(values: Iterable[str]) -> str:
    seen = dict.fromkeys(v for v in values if v != "–")
    return " / ".join(seen) or "–"


def swept_keys(agg: pd.DataFrame) -> list[str]:
    """The grouping keys of ``agg`` that the identity columns do not show and that take
    more than one value within one experiment (across all rows when ``experiment`` is no
    grouping key). Keys that only change with the experiment (a method's preset, e.g.
    ``model.net.threshold_mode`` of S4NN against BSTDG) follow from it and are left out."""
    keys = _keys_of(agg)
    experiments = (agg["experiment"].map(_norm).tolist() if "experiment" in keys
                   else [""] * len(agg))
    swept = []
    for key in keys:
        if key in SHOWN_KEYS:
            continue
        seen: dict[str, set[str]] = {}
        for experiment, value in zip(experiments, agg[key].tolist(), strict=True):
            seen.setdefault(experiment, set()).add(_norm(value))
        if any(len(values) > 1 for values in seen.values()):
            swept.append(key)
    return swept


def group_identity(agg: pd.DataFrame, runs: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per row of ``agg``: ``method``, ``dataset``, ``structure`` and ``weights`` (read from
    its runs when ``runs`` is given, else from the row's own keys; distinct values joined by
    `` / ``), and ``setting``: (name, value) pairs of the :func:`swept_keys` (the experiment
    too when rows would otherwise read the same)."""
    keys = _keys_of(agg)
    groups = group_runs(agg, runs) if runs is not None else [None] * len(agg)
    rows = []
    for (_, row), group in zip(agg.iterrows(), groups, strict=True):
        records = [r for _, r in group.iterrows()] if group is not None and len(group) else [row]
        rows.append({name: _distinct_text(fn(r) for r in records)
                     for name, fn in IDENTITY.items()})
    ident = pd.DataFrame(rows, index=agg.index, columns=list(IDENTITY))
    extra = swept_keys(agg)
    setting = [[(key_label(k, extra), format_key(row[k])) for k in extra]
               for _, row in agg.iterrows()]
    if "experiment" in keys:
        seen = [(*ident.loc[i], *pairs) for i, pairs in zip(agg.index, setting, strict=True)]
        if len(set(seen)) < len(seen):
            setting = [[("experiment", format_key(row["experiment"])), *pairs]
                       for (_, row), pairs in zip(agg.iterrows(), setting, strict=True)]
    ident["setting"] = setting
    return ident


def setting_text(pairs: Sequence[tuple[str, str]], latex: bool = False) -> str:
    """``T = 16, lr = 0.01`` (the experiment by its name alone); LaTeX-escaped when told,
    with ``T`` in math italics."""
    parts = []
    for name, value in pairs:
        if latex:
            name_tex = "$T$" if name == "T" else latex_escape(name)
            parts.append(latex_escape(value) if name == "experiment"
                         else f"{name_tex} = {latex_escape(value)}")
        else:
            parts.append(value if name == "experiment" else f"{name} = {value}")
    return ", ".join(parts)


def _latex_mean_std(row: pd.Series, metric: str, decimals: int | None) -> str:
    """``mean $\\pm$ std`` (mean alone for one run, ``--`` when absent); ``decimals`` None:
    an accuracy in percent with 2 decimals."""
    mean = row.get(stat_column(metric, "mean"))
    if is_missing(mean):
        return "--"
    if decimals is None:
        text = mean_std(row, metric, " PM ", percent=True)
    else:
        std = row.get(stat_column(metric, "std"))
        text = f"{float(mean):.{decimals}f}" + (
            "" if is_missing(std) else f" PM {float(std):.{decimals}f}")
    return text.replace(" PM ", r" $\pm$ ")


def paper_latex(agg: pd.DataFrame, runs: pd.DataFrame | None = None) -> str:
    """table.tex: one booktabs tabular of :data:`PAPER_MAX_COLUMNS` columns (method,
    dataset, structure, weights, accuracy and accuracy with ties in % as mean ± std, hidden
    spikes per image, decision step, n); swept keys in parentheses after the method."""
    ident = group_identity(agg, runs)
    rows = []
    for (i, row), pairs in zip(agg.iterrows(), ident["setting"], strict=True):
        method = latex_escape(ident.loc[i, "method"])
        if pairs:
            method += f" ({setting_text(pairs, latex=True)})"
        rows.append([method, *(latex_escape(ident.loc[i, c]) for c in
                               ("dataset", "structure", "weights")),
                     *(_latex_mean_std(row, m, d) for m, d in PAPER_METRICS), str(row["n"])])
    keys, swept = _keys_of(agg), swept_keys(agg)
    shown = [k for k in keys if k in SHOWN_KEYS or k in swept]
    rest = len(keys) - len(shown)
    grouped = ", ".join(key_header(k) for k in shown) or "(nothing)"
    if rest:
        grouped += f" and {rest} config key(s) that change with the experiment only"
    head = [
        "% bstdg-report: mean $\\pm$ sample std over the n runs (seeds) of a group.",
        "% Acc.: test accuracy; w/ ties: a tie among the earliest output spikes counts as",
        "% correct when the label is among them (S4NN/BS4NN/SSTDP). Hidden spikes: per test",
        "% image; decision step: first output spike (T when none), test mean.",
        f"% Grouped by: {grouped}.",
        "% Swept keys are named after the method.",
        "% Every metric: bstdg-report ... --full-tex (table_full.tex).",
    ]
    body = _latex_tabular(list(PAPER_HEADER), rows, "llll" + "r" * 5)
    return "\n".join(head) + "\n" + body + "\n"


def tabular_columns(tex: str) -> list[int]:
    """The column count of every ``\\begin{tabular}{spec}`` in ``tex`` (l, c, r, p{..},
    X; ``|`` and ``@{..}`` not counted)."""
    import re

    counts = []
    for spec in re.findall(r"\\begin\{tabular\}\{((?:[^{}]|\{[^{}]*\})*)\}", tex):
        spec = re.sub(r"[@!>]\{[^{}]*\}|<\{[^{}]*\}", "", spec)
        spec = re.sub(r"[pmb]\{[^{}]*\}", "p", spec)
        counts.append(sum(ch in "lcrpX" for ch in spec))
    return counts


def write_tables(
    agg: pd.DataFrame,
    out: str | Path,
    skipped: pd.DataFrame | None = None,
    published: pd.DataFrame | None = None,
    runs: pd.DataFrame | None = None,
    stem: str = "table",
    full_tex: bool = False,
) -> list[Path]:
    """Write ``<stem>.md``, ``<stem>.csv``, ``<stem>.tex`` (the paper table, at most
    :data:`PAPER_MAX_COLUMNS` columns) and ``skipped.md`` (and ``runs.csv``, one row per run,
    when ``runs`` is given; ``<stem>_full.tex``, every metric plus the published block, when
    ``full_tex``) into ``out``; returns the paths."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    skipped = pd.DataFrame(columns=[RUN_DIR, SKIP_REASON]) if skipped is None else skipped
    written = {
        out / f"{stem}.md": report_markdown(agg, skipped, published),
        out / f"{stem}.tex": paper_latex(agg, runs),
        out / "skipped.md": f"# Skipped runs (not averaged)\n\n{skipped_markdown(skipped)}\n",
    }
    if full_tex:
        written[out / f"{stem}_full.tex"] = report_latex(agg, published)
    for path, text in written.items():
        path.write_text(text)
    agg.to_csv(out / f"{stem}.csv", index=False)
    paths = [*written, out / f"{stem}.csv"]
    if runs is not None:
        runs.to_csv(out / "runs.csv", index=False)
        paths.append(out / "runs.csv")
    return paths

