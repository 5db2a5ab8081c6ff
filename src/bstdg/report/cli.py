"""bstdg-report: tables and plots from run directories, multirun directories or globs.

bstdg-report logs/train/multiruns/<stamp> --out reports/t_sweep
bstdg-report 'logs/train/multiruns/*' --out reports/all --by experiment cfg/encoder.T
bstdg-report --doc docs/results.yaml --out docs/results.md
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from bstdg.report.aggregate import METRICS
from bstdg.report.build import PUBLISHED_CHOICES, build_report
from bstdg.report.results_doc import NOT_RUN, SpecError, build_results_doc, update_readme_block
from bstdg.report.runs import RUN_DIR, SKIP_REASON, NoRunsFoundError


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bstdg-report",
        description="Aggregate bstdg runs (every metrics.json beneath the paths) into "
        "Markdown/CSV/LaTeX tables and PDF/PNG figures. Runs that did not finish are listed in "
        "skipped.md, never averaged. With --doc SPEC, write one Markdown document (e.g. "
        "docs/results.md) with a section per entry of the spec instead.",
    )
    p.add_argument("paths", nargs="*", help="run dirs, multirun dirs or globs (quote globs)")
    p.add_argument("--out", required=True,
                   help="output directory (created); with --doc, the Markdown file to write")
    p.add_argument("--readme", metavar="FILE", default=None,
                   help="with --doc: also put the overview table between the results:begin / "
                   "results:end markers of FILE (e.g. README.md)")
    p.add_argument("--doc", metavar="SPEC", default=None,
                   help="a results spec (docs/results.yaml): write the document it describes "
                   "to --out; its run paths are relative to --root")
    p.add_argument("--root", default=None,
                   help="with --doc: the directory the spec's run paths are relative to "
                   "(default: the git checkout holding the spec, else the current directory)")
    p.add_argument("--by", nargs="+", default=None, metavar="KEY",
                   help="grouping columns, e.g. experiment cfg/encoder.T (default: experiment "
                   "plus every cfg/ key that varies across the runs, seeds excluded)")
    p.add_argument("--metrics", nargs="+", default=None, metavar="NAME",
                   help=f"metrics to aggregate (default: those present of {', '.join(METRICS)})")
    p.add_argument("--no-plots", action="store_true", help="write the tables only")
    p.add_argument("--full-tex", action="store_true",
                   help="also write table_full.tex: every metric as a wide tabular of raw "
                   "metric keys, plus the published block (table.tex is the compact paper "
                   "table of at most 9 columns)")
    p.add_argument("--published", choices=PUBLISHED_CHOICES, default="matching",
                   help="published baseline numbers under the table: for the runs' datasets "
                   "(matching, default), all, or none")
    return p


def _main_doc(args: argparse.Namespace) -> int:
    """bstdg-report --doc SPEC --out FILE: the results document."""
    try:
        doc = build_results_doc(args.doc, args.out, root=args.root)
        if args.readme:
            link = os.path.relpath(args.out, os.path.dirname(os.path.abspath(args.readme)))
            update_readme_block(args.readme, doc, link)
    except (SpecError, OSError) as err:
        print(f"bstdg-report: {err}", file=sys.stderr)
        return 2
    for result in doc.sections:
        print(f"{result.section.title}: {result.n_runs} finished runs, verdict {result.verdict}")
    for problem in doc.problems:
        print(f"bstdg-report: {problem}", file=sys.stderr)
    not_run = [r.section for r in doc.sections if r.verdict == NOT_RUN]
    for section in not_run:
        print(f"bstdg-report: {section.title!r} has no run in {', '.join(section.runs)} nor in "
              f"the archive: run `{section.command}`", file=sys.stderr)
    print(f"wrote {doc.out}")
    return 1 if doc.problems else 0


def main(argv: Sequence[str] | None = None) -> int:
    p = parser()
    args = p.parse_args(argv)
    if args.doc is not None:
        if args.paths:
            p.error("--doc takes its runs from the spec; give no run paths with it")
        return _main_doc(args)
    if not args.paths:
        p.error("give run dirs, multirun dirs or globs (or --doc SPEC)")
    try:
        report = build_report(args.paths, args.out, by=args.by, metrics=args.metrics,
                              plots=not args.no_plots, published=args.published,
                              full_tex=args.full_tex)
    except (NoRunsFoundError, KeyError, ValueError) as err:
        print(f"bstdg-report: {err.args[0] if err.args else err}", file=sys.stderr)
        return 2
    n_used = int(report.table["n"].sum()) if not report.table.empty else 0
    print(f"{n_used} runs averaged in {len(report.table)} groups "
          f"(by {', '.join(report.by) or 'nothing'}); {len(report.skipped)} skipped")
    for _, row in report.skipped.iterrows():
        print(f"  skipped {row[RUN_DIR]}: {row[SKIP_REASON]}")
    for path in report.files:
        print(f"wrote {path}")
    if report.table.empty:
        print("bstdg-report: no finished run with test/acc to average (see skipped.md)",
              file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
