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
    digits, trailing zeros kept (large counts as integers)."""
    if is_missing(value):
        return "–"
    value = float(value)
    if "acc" in metric or metric.endswith("_frac"):
        return f"{value:.4f}"
    if abs(value) >= 10_000:
        return f"{value:,.0f}"
    return f"{value:#.4g}".rstrip(".")  # trailing zeros kept: 16.00, 0.3030


def is_accuracy(metric: str) -> bool:
    """Accuracies (``test/acc``, ``test/acc_ties``, ``val/acc_best``, ...): shown in percent."""
    return metric.rsplit("/", 1)[-1].startswith("acc")


def format_percent(value: Any) -> str:
    """A fraction as a percentage with 2 decimals (``0.97125`` -> ``97.12``; no % sign)."""
    return "–" if is_missing(value) else f"{100.0 * float(value):.2f}"


def format_minutes(value: Any) -> str:
    """Minutes with 3 significant digits (``12.3``, ``0.412``)."""
    return "–" if is_missing(value) else f"{float(value):.3g}"


def format_key(value: Any) -> str:
    """A grouping value: integral floats as integers, missing as a dash."""
    if is_missing(value):
        return "–"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def key_header(column: str) -> str:
    return column.removeprefix(CFG_PREFIX)


def format_like(value: Any, template: str) -> str:
    """``value`` with as many decimals as the formatted number ``template`` (``33.54`` ->
    ``0.06``), so that a standard deviation reads at the precision of its mean."""
    if is_missing(value):
        return "–"
    plain = template.replace(",", "")
    if "e" in plain.lower() or not plain.lstrip("-").replace(".", "", 1).isdigit():
        return f"{float(value):.4g}"
    decimals = len(plain.split(".")[1]) if "." in plain else 0
    return f"{float(value):,.{decimals}f}" if "," in template else f"{float(value):.{decimals}f}"


def mean_std(row: pd.Series, metric: str, pm: str = " ± ", percent: bool = False) -> str:
    """``mean ± std`` of one metric in an aggregated row (``mean`` alone for one run), the
    std at the precision of the mean; ``percent`` shows an accuracy as a percentage
    (``97.12 ± 0.08``)."""
    mean, std = row.get(stat_column(metric, "mean")), row.get(stat_column(metric, "std"))
    if is_missing(mean):
        return "–"
    if percent:
        return format_percent(mean) + ("" if is_missing(std) else f"{pm}{format_percent(std)}")
    text = format_number(metric, mean)
    return text + ("" if is_missing(std) else f"{pm}{format_like(std, text)}")
