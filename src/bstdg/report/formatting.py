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


# --- Paper names: method, dataset, structure and weights of a run, from what it carries ---

METHOD_NAMES = {"bstdg": "BSTDG", "stdg": "STDG", "s4nn": "S4NN", "bs4nn": "BS4NN",
                "sstdp": "SSTDP"}
DATASET_NAMES = {"mnist": "MNIST", "fmnist": "Fashion-MNIST",
                 "caltech_face_motorbike": "Caltech F/M", "shd": "SHD",
                 "synthetic": "Synthetic"}
# Aliases of the dataset keys: experiment prefixes and MNISTDataModule variants.
DATASET_ALIASES = {"caltech": "caltech_face_motorbike", "fashionmnist": "fmnist",
                   "fashion_mnist": "fmnist"}
# (inputs, classes) of the datasets whose sizes do not depend on their options.
DATASET_SIZES = {"mnist": (784, 10), "fmnist": (784, 10), "shd": (700, 20)}
BINARY_METHODS = frozenset({"bstdg", "bs4nn"})
REAL_METHODS = frozenset({"s4nn", "sstdp", "stdg"})


def _text(record: Any, key: str) -> str | None:
    value = record.get(key) if hasattr(record, "get") else None
    if is_missing(value) or value == "":
        return None
    return str(value)


def _parsed(record: Any, key: str) -> Any:
    """A config value of ``record``: lists stored as JSON text (``"[600]"``) parsed back."""
    value = record.get(key) if hasattr(record, "get") else None
    if isinstance(value, str) and value[:1] in "[{":
        import json

        try:
            return json.loads(value)
        except ValueError:
            return value
    return None if is_missing(value) else value


def _experiment_tokens(record: Any) -> list[str]:
    experiment = _text(record, "experiment") or _text(record, "choice/experiment") or ""
    return experiment.lower().split("_") if experiment else []


def method_key(record: Any) -> str | None:
    """``bstdg``, ``s4nn``, ... from ``choice/model``, else a token of the experiment name."""
    model = _text(record, "choice/model")
    if model is not None:
        return model.lower()
    return next((t for t in _experiment_tokens(record) if t in METHOD_NAMES), None)


def method_name(record: Any) -> str:
    """The method as papers write it (BSTDG, S4NN, BS4NN, SSTDP); the experiment name when
    the run names no known method; ``–`` when it carries neither."""
    key = method_key(record)
    if key in METHOD_NAMES:
        return METHOD_NAMES[key]
    if key is not None:
        return key.upper()
    return _text(record, "experiment") or "–"


def dataset_key(record: Any) -> str | None:
    """``mnist``, ``fmnist``, ``caltech_face_motorbike``, ``shd``, ``synthetic`` from
    ``choice/data``, else ``cfg/data.variant``, else the experiment name's first token."""
    for key in ("choice/data", "cfg/data.variant"):
        value = _text(record, key)
        if value is not None:
            value = value.lower()
            return DATASET_ALIASES.get(value, value)
    tokens = _experiment_tokens(record)
    if tokens:
        first = DATASET_ALIASES.get(tokens[0], tokens[0])
        if first in DATASET_NAMES:
            return first
    return None


def dataset_name(record: Any) -> str:
    """MNIST, Fashion-MNIST, Caltech F/M, SHD, Synthetic (the config name otherwise)."""
    key = dataset_key(record)
    return "–" if key is None else DATASET_NAMES.get(key, key)


def _int(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def dataset_size(record: Any) -> tuple[int | None, int | None]:
    """(inputs, classes) of the run's data, as its DataModule sizes them; None where the
    run does not carry what decides it."""
    key = dataset_key(record)
    if key in DATASET_SIZES:
        return DATASET_SIZES[key]
    if key == "caltech_face_motorbike":
        resize, classes = _parsed(record, "cfg/data.resize"), _parsed(record, "cfg/data.classes")
        n_in = None
        if isinstance(resize, list) and len(resize) == 2:
            channels = 2 if _text(record, "cfg/data.dog_filter") == "on_off" else 1
            n_in = channels * int(resize[0]) * int(resize[1])
        return n_in, len(classes) if isinstance(classes, list) else None
    return _int(_parsed(record, "cfg/data.n_inputs")), _int(_parsed(record, "cfg/data.n_classes"))


def structure_text(record: Any) -> str:
    """``784-600-10``: inputs, hidden layer sizes, classes (``?`` for an unknown end; ``–``
    when the run carries no hidden sizes)."""
    hidden = _parsed(record, "cfg/model.net.hidden")
    if hidden is None:
        return "–"
    hidden = hidden if isinstance(hidden, list) else [hidden]
    n_in, n_out = dataset_size(record)
    parts = ["?" if n_in is None else str(n_in), *(format_key(h) for h in hidden),
             "?" if n_out is None else str(n_out)]
    return "-".join(parts)


def weights_text(record: Any) -> str:
    """``binary`` or ``real`` from ``cfg/model.net.binary``, else from the method."""
    value = record.get("cfg/model.net.binary") if hasattr(record, "get") else None
    if isinstance(value, str):
        value = {"true": True, "false": False}.get(value.lower(), None)
    if not is_missing(value) and value in (True, False):
        return "binary" if bool(value) else "real"
    key = method_key(record)
    if key in BINARY_METHODS:
        return "binary"
    if key in REAL_METHODS:
        return "real"
    return "–"
