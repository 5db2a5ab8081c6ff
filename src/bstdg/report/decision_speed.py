"""The speed-of-decision verdict of a window-length (T) sweep.

Among the groups of a sweep over the window length T, the reference is the longest window;
the answer is the shortest window whose mean test accuracy is within ``within`` (a fraction:
0.01 = 1 pt) of the reference's, with its mean decision step and how many times fewer steps
that is than a published network's mean decision step (BS4NN: 112.9):

    T* = min { T : acc(T) >= acc(T_max) - within },   speed-up = reference_steps / step(T*)
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from bstdg.report.aggregate import stat_column
from bstdg.report.formatting import format_percent
from bstdg.report.runs import CFG_PREFIX

DECISION_SPEED_KEYS: dict[str, str] = {
    "key": "the swept window-length key (default encoder.T)",
    "within": "accuracy tolerance as a fraction (0.01 = 1 pt below the longest window)",
    "reference_steps": "a published mean decision step to compare with (e.g. 112.9)",
    "reference": "who published reference_steps (e.g. BS4NN)",
}
ACC, STEP = "test/acc", "test/decision_time"


@dataclass(frozen=True)
class DecisionSpeed:
    """Which sweep key holds T, the accuracy tolerance and the published step to beat."""

    key: str = "encoder.T"
    within: float = 0.01
    reference_steps: float | None = None
    reference: str = "the reference"

    @classmethod
    def parse(cls, raw: Any, where: str, path: Path) -> DecisionSpeed:
        """From a results-spec mapping; a ValueError names the file, the section and the fix."""
        if not isinstance(raw, Mapping):
            raise ValueError(f"{path}: {where}: decision_speed must be a mapping with keys "
                             f"{', '.join(DECISION_SPEED_KEYS)}, got {raw!r}")
        unknown = [k for k in raw if k not in DECISION_SPEED_KEYS]
        if unknown:
            raise ValueError(f"{path}: {where}: unknown decision_speed key {unknown[0]!r}; "
                             f"valid: {', '.join(DECISION_SPEED_KEYS)}")
        within, steps = raw.get("within", 0.01), raw.get("reference_steps")
        for name, value in (("within", within), ("reference_steps", steps)):
            if value is not None and (isinstance(value, bool)
                                      or not isinstance(value, (int, float)) or value <= 0):
                raise ValueError(f"{path}: {where}: decision_speed.{name} must be a positive "
                                 f"number, got {value!r}")
        return cls(str(raw.get("key", "encoder.T")), float(within),
                   None if steps is None else float(steps),
                   str(raw.get("reference", "the reference")))

    def evaluate(self, agg: pd.DataFrame) -> tuple[str, str]:
        """(the target line, the overview verdict) for the aggregated sweep ``agg``; groups
        without a numeric T or a mean accuracy are left out, and a sweep with several groups
        per T (group it by T alone) is not evaluated."""
        column = self.key if self.key in agg else f"{CFG_PREFIX}{self.key}"
        needed = [column, stat_column(ACC, "mean"), stat_column(STEP, "mean")]
        absent = [c for c in needed if c not in agg]
        if agg.empty or absent:
            why = "no finished run" if agg.empty else f"the runs have no {', '.join(absent)}"
            return _not_evaluated(why)
        rows = agg.assign(_T=pd.to_numeric(agg[column], errors="coerce"))
        rows = rows.dropna(subset=["_T", stat_column(ACC, "mean")]).sort_values("_T", kind="stable")
        if rows.empty:
            return _not_evaluated(f"no group has a numeric {self.key} and a test accuracy")
        if rows["_T"].duplicated().any():
            return _not_evaluated(f"several groups share a {self.key}: group the section by "
                                  f"{self.key} alone")
        ref = rows.iloc[-1]
        ref_acc = float(ref[stat_column(ACC, "mean")])
        best = rows[rows[stat_column(ACC, "mean")] >= ref_acc - self.within - 1e-12].iloc[0]
        T, step = int(best["_T"]), float(best[stat_column(STEP, "mean")])
        line = (f"shortest window within {self.within * 100:g} pt of T = {int(ref['_T'])} "
                f"({format_percent(ref_acc)} %): **T = {T}** "
                f"({format_percent(float(best[stat_column(ACC, 'mean')]))} %)")
        if math.isnan(step):
            return line + ", no decision step recorded", f"T = {T}"
        line += f", mean decision step {step:.2f}"
        verdict = f"T = {T}, decision step {step:.1f}"
        if self.reference_steps is not None and step > 0:
            factor = self.reference_steps / step
            line += (f", {factor:.1f}× fewer steps than {self.reference}'s "
                     f"{self.reference_steps:g}")
            verdict += f" ({factor:.0f}× fewer than {self.reference})"
        return line, verdict


def _not_evaluated(why: str) -> tuple[str, str]:
    return f"speed of decision: not evaluated ({why})", "not evaluated"
