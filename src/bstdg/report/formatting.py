"""Number and cell formatting shared by the Markdown and LaTeX tables."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd

from bstdg.report.aggregate import CFG_PREFIX, stat_column


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA


def format_number(metric: str, value: Any) -> str:
    """Fractions (accuracies, shares) with 4 decimals, other metrics with 4 significant
    digits (large counts as integers)."""
    if is_missing(value):
        return "–"
    value = float(value)
    if "acc" in metric or metric.endswith("_frac"):
        return f"{value:.4f}"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:.4g}"


def format_key(value: Any) -> str:
    """A grouping value: integral floats as integers, missing as a dash."""
    if is_missing(value):
        return "–"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def key_header(column: str) -> str:
    return column.removeprefix(CFG_PREFIX)


def mean_std(row: pd.Series, metric: str, pm: str = " ± ") -> str:
    """``mean ± std`` of one metric in an aggregated row (``mean`` alone for one run)."""
    mean, std = row.get(stat_column(metric, "mean")), row.get(stat_column(metric, "std"))
    if is_missing(mean):
        return "–"
    if is_missing(std):
        return format_number(metric, mean)
    return f"{format_number(metric, mean)}{pm}{format_number(metric, std)}"
