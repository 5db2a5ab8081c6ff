"""The results spec (docs/results.yaml) parsed and checked: sections, targets, published rows.

Every malformed entry raises :class:`SpecError` naming the file, the section and the key,
with the valid keys where one is unknown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml

from bstdg.report.decision_speed import DecisionSpeed
from bstdg.report.formatting import format_number, format_percent, is_accuracy
from bstdg.report.published import published_results

TOP_KEYS: dict[str, str] = {
    "title": "heading of the generated file (default: Measured results)",
    "intro": "free text under the heading",
    "sections": "list of sections (required)",
    "archive": "JSON file (relative to the root) that keeps every run's metrics.json the "
               "document reads, read where logs/ lacks the run (see report.run_archive)",
}
SECTION_KEYS: dict[str, str] = {
    "title": "section heading (required)",
    "runs": "run dirs, multirun dirs or globs relative to the repository root (required)",
    "command": "the exact command that produces the runs (required)",
    "filter": "mapping key -> value or list of accepted values (experiment, cfg keys)",
    "by": "grouping keys (default: experiment plus every cfg key that varies)",
    "protocol": "free text: epochs, model selection, data split, ...",
    "target": "free text target, printed as written",
    "target_metric": "metric compared with target_value (mean over runs >= value)",
    "target_value": "threshold for target_metric (a fraction for accuracies: 0.97)",
    "targets": "list of {metric, at_least | at_most}: machine-checkable targets",
    "min_runs": "fewest finished runs for a verdict (default 1)",
    "published": "dataset name, or {dataset: name(s), methods: [names]}, or none",
    "metrics": "extra metric columns for the measured table",
    "notes": "free text printed under the section heading",
    "decision_speed": "for a T sweep: {key, within, reference_steps, reference} (see "
                      "bstdg.report.decision_speed)",
    "row": "{method, dataset, structure}: the section's place in the comparison table "
           "(methods x datasets, published numbers beside the measured ones)",
}
ROW_KEYS: dict[str, str] = {
    "method": "method name as in published.yaml (BSTDG, S4NN, BS4NN, SSTDP, ...)",
    "dataset": "dataset name as in published.yaml (mnist, fmnist, caltech_face_motorbike, shd)",
    "structure": "network structure, e.g. 784-600-10",
}
TARGET_KEYS: dict[str, str] = {
    "metric": "metric name (test/acc; a name without '/' means test/<name>)",
    "at_least": "met when the mean is >= this value",
    "at_most": "met when the mean is <= this value",
}
PUBLISHED_KEYS: dict[str, str] = {
    "dataset": "dataset name(s) of published.yaml",
    "methods": "method names of published.yaml",
}
TOLERANCE = 1e-9


class SpecError(ValueError):
    """The results spec is malformed (the message names the file, the key and the fix)."""


@dataclass(frozen=True)
class Target:
    """A machine-checkable target: the mean of ``metric`` at least / at most ``value``."""

    metric: str
    value: float
    at_most: bool = False

    def met(self, mean: float) -> bool:
        """Compare the mean with the value; a float rounding error (1e-9) does not miss."""
        return mean <= self.value + TOLERANCE if self.at_most else mean >= self.value - TOLERANCE

    def text(self) -> str:
        op = "≤" if self.at_most else "≥"
        value = (value_text(self.metric, self.value) if is_accuracy(self.metric)
                 else f"{self.value:g}")
        return f"`{self.metric}` {op} {value}"


@dataclass(frozen=True)
class PublishedSpec:
    """Which rows of published.yaml a section shows (empty tuple: no restriction)."""

    datasets: tuple[str, ...] = ()
    methods: tuple[str, ...] = ()

    def rows(self) -> pd.DataFrame:
        table = published_results()
        if self.datasets:
            table = table[table["dataset"].isin(self.datasets)]
        if self.methods:
            table = table[table["method"].isin(self.methods)]
        return table.reset_index(drop=True)


@dataclass(frozen=True)
class RowSpec:
    """Where a section's one group goes in the comparison table."""

    method: str
    dataset: str
    structure: str


@dataclass
class Section:
    """One section of the results document."""

    title: str
    runs: list[str]
    command: str
    filter: dict[str, Any] = field(default_factory=dict)
    by: list[str] | None = None
    protocol: str | None = None
    target: str | None = None
    targets: list[Target] = field(default_factory=list)
    min_runs: int = 1
    published: PublishedSpec | None = None
    metrics: list[str] = field(default_factory=list)
    notes: str | None = None
    decision_speed: DecisionSpeed | None = None
    row: RowSpec | None = None


@dataclass
class ResultsSpec:
    """A parsed docs/results.yaml."""

    path: Path
    sections: list[Section]
    title: str = "Measured results"
    intro: str | None = None
    archive: str | None = None


def _check_keys(where: str, path: Path, given: Mapping[str, Any], valid: Mapping[str, str]) -> None:
    unknown = [k for k in given if k not in valid]
    if unknown:
        listing = "\n".join(f"  {k}: {desc}" for k, desc in valid.items())
        raise SpecError(f"{path}: unknown key {unknown[0]!r} in {where}; valid keys:\n{listing}")


def _text_list(value: Any, name: str, where: str, path: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, Sequence) and all(isinstance(v, str) for v in value):
        return list(value)
    raise SpecError(f"{path}: {where}: {name} must be a string or a list of strings, "
                    f"got {value!r}")


def _metric_name(name: str) -> str:
    return name if "/" in name else f"test/{name}"


def _number(value: Any, name: str, where: str, path: Path) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise SpecError(f"{path}: {where}: {name} must be a number, got {value!r}")
    return float(value)


def _targets(raw: Mapping[str, Any], where: str, path: Path) -> list[Target]:
    targets: list[Target] = []
    if ("target_metric" in raw) != ("target_value" in raw):
        raise SpecError(f"{path}: {where}: target_metric and target_value go together "
                        "(e.g. target_metric: test/acc, target_value: 0.97)")
    if "target_metric" in raw:
        targets.append(Target(_metric_name(str(raw["target_metric"])),
                              _number(raw["target_value"], "target_value", where, path)))
    items = raw.get("targets") or []
    if not isinstance(items, list):
        raise SpecError(f"{path}: {where}: targets must be a list of "
                        "{metric, at_least | at_most} mappings")
    for item in items:
        if not isinstance(item, Mapping):
            raise SpecError(f"{path}: {where}: each target must be a mapping, got {item!r}")
        _check_keys(f"{where}, targets", path, item, TARGET_KEYS)
        bounds = [k for k in ("at_least", "at_most") if k in item]
        if "metric" not in item or len(bounds) != 1:
            raise SpecError(f"{path}: {where}: a target needs metric and exactly one of "
                            f"at_least / at_most, got {dict(item)!r}")
        targets.append(Target(_metric_name(str(item["metric"])),
                              _number(item[bounds[0]], bounds[0], where, path),
                              at_most=bounds[0] == "at_most"))
    return targets


def _published(value: Any, where: str, path: Path) -> PublishedSpec | None:
    if value in (None, False, "none"):
        return None
    if isinstance(value, str):
        value = {"dataset": value}
    if not isinstance(value, Mapping):
        raise SpecError(f"{path}: {where}: published must be a dataset name, a mapping "
                        f"{{dataset, methods}} or none, got {value!r}")
    _check_keys(f"{where}, published", path, value, PUBLISHED_KEYS)
    table = published_results()
    spec = PublishedSpec(
        tuple(_text_list(value.get("dataset", []), "published.dataset", where, path)),
        tuple(_text_list(value.get("methods", []), "published.methods", where, path)),
    )
    for name, column, given in (("dataset", "dataset", spec.datasets),
                                ("method", "method", spec.methods)):
        known = sorted(table[column].unique())
        for item in given:
            if item not in known:
                raise SpecError(f"{path}: {where}: unknown published {name} {item!r}; "
                                f"published.yaml has: {', '.join(known)}")
    return spec


def _section(raw: Any, index: int, path: Path) -> Section:
    where = f"section {index + 1}"
    if not isinstance(raw, Mapping):
        raise SpecError(f"{path}: {where} must be a mapping with title, runs, command, ...")
    if isinstance(raw.get("title"), str):
        where = f"section {index + 1} ({raw['title']!r})"
    _check_keys(where, path, raw, SECTION_KEYS)
    missing = [k for k in ("title", "runs", "command") if not raw.get(k)]
    if missing:
        raise SpecError(f"{path}: {where}: missing required key {missing[0]!r}")
    filt = raw.get("filter") or {}
    if not isinstance(filt, Mapping):
        raise SpecError(f"{path}: {where}: filter must be a mapping key -> value, got {filt!r}")
    min_runs = raw.get("min_runs", 1)
    if isinstance(min_runs, bool) or not isinstance(min_runs, int) or min_runs < 1:
        raise SpecError(f"{path}: {where}: min_runs must be an integer >= 1, got {min_runs!r}")
    by = raw.get("by")
    return Section(
        title=str(raw["title"]),
        runs=_text_list(raw["runs"], "runs", where, path),
        command=str(raw["command"]).strip(),
        filter=dict(filt),
        by=None if by is None else _text_list(by, "by", where, path),
        protocol=_optional_text(raw.get("protocol")),
        target=_optional_text(raw.get("target")),
        targets=_targets(raw, where, path),
        min_runs=min_runs,
        published=_published(raw.get("published"), where, path),
        metrics=[_metric_name(m) for m in _text_list(raw.get("metrics", []), "metrics",
                                                      where, path)],
        notes=_optional_text(raw.get("notes")),
        decision_speed=_decision_speed(raw.get("decision_speed"), where, path),
        row=_row(raw.get("row"), where, path),
    )


def _row(raw: Any, where: str, path: Path) -> RowSpec | None:
    if raw is None:
        return None
    if not isinstance(raw, Mapping) or set(raw) != set(ROW_KEYS):
        raise SpecError(f"{path}: {where}: row must be a mapping with exactly the keys "
                        f"{', '.join(ROW_KEYS)}, got {raw!r}")
    _check_keys(f"{where}, row", path, raw, ROW_KEYS)
    table = published_results()
    for key in ("method", "dataset"):
        known = sorted(table[key].unique())
        if raw[key] not in known:
            raise SpecError(f"{path}: {where}: unknown row {key} {raw[key]!r}; "
                            f"published.yaml has: {', '.join(known)}")
    return RowSpec(str(raw["method"]), str(raw["dataset"]), str(raw["structure"]))


def _decision_speed(raw: Any, where: str, path: Path) -> DecisionSpeed | None:
    if raw is None:
        return None
    try:
        return DecisionSpeed.parse(raw, where, path)
    except ValueError as err:
        raise SpecError(str(err)) from None


def _optional_text(value: Any) -> str | None:
    return None if value is None else " ".join(str(value).split())


def load_spec(path: str | Path) -> ResultsSpec:
    """Parse and validate a results spec; :class:`SpecError` names the file and the key."""
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text())
    except OSError as err:
        raise SpecError(f"cannot read the results spec {path}: {err}") from err
    except yaml.YAMLError as err:
        raise SpecError(f"{path}: not valid YAML: {err}") from err
    if not isinstance(raw, Mapping):
        raise SpecError(f"{path}: the spec must be a mapping with a 'sections' list")
    _check_keys("the top level", path, raw, TOP_KEYS)
    sections = raw.get("sections")
    if not isinstance(sections, list) or not sections:
        raise SpecError(f"{path}: 'sections' must be a non-empty list of sections")
    return ResultsSpec(path=path, sections=[_section(s, i, path) for i, s in enumerate(sections)],
                       title=str(raw.get("title") or "Measured results"),
                       intro=_optional_text(raw.get("intro")),
                       archive=_optional_text(raw.get("archive")))


def value_text(metric: str, value: float) -> str:
    """An accuracy as a percentage, any other metric as its number."""
    return f"{format_percent(value)} %" if is_accuracy(metric) else format_number(metric, value)


__all__ = [
    "PUBLISHED_KEYS", "ROW_KEYS", "SECTION_KEYS", "TARGET_KEYS", "TOP_KEYS",
    "PublishedSpec", "ResultsSpec", "RowSpec", "Section", "SpecError", "Target", "load_spec",
    "value_text",
]
