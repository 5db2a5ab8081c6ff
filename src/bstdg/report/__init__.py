"""bstdg.report: tables (Markdown, CSV, LaTeX) and plots from many run directories.

    from bstdg.report import load_runs, aggregate, write_tables
    runs = load_runs(["logs/train/multiruns/<stamp>"])
    table = aggregate(runs, by=["experiment", "cfg/encoder.T"])
    build_results_doc("docs/results.yaml", "docs/results.md")   # bstdg-report --doc
"""

from bstdg.report.aggregate import METRICS, aggregate, default_group_keys, varying_config_keys
from bstdg.report.build import Report, build_report, write_summary
from bstdg.report.plots import (
    plot_acc_vs_hidden_spikes,
    plot_acc_vs_T,
    plot_all,
    plot_decision_time,
    plot_inference_time,
    plot_learning_curves,
)
from bstdg.report.published import published_results
from bstdg.report.results_doc import build_results_doc
from bstdg.report.results_spec import SpecError, load_spec
from bstdg.report.runs import NoRunsFoundError, load_runs, skipped_runs, usable_runs
from bstdg.report.tables import write_tables

__all__ = [
    "METRICS", "NoRunsFoundError", "Report", "SpecError", "aggregate", "build_report",
    "build_results_doc", "default_group_keys", "load_spec",
    "load_runs", "plot_acc_vs_T", "plot_acc_vs_hidden_spikes", "plot_all",
    "plot_decision_time", "plot_inference_time", "plot_learning_curves", "published_results",
    "skipped_runs", "usable_runs", "varying_config_keys", "write_summary", "write_tables",
]
