"""Published numbers of the baselines (a data file in the package), marked as published."""

from __future__ import annotations

from collections.abc import Iterable
from importlib.resources import files

import pandas as pd
import yaml

COLUMNS = ("method", "weights", "dataset", "structure", "acc_percent", "evidence", "note",
           "citation")


def published_results(datasets: Iterable[str] | None = None) -> pd.DataFrame:
    """Published test accuracies (%) with their citation; only ``datasets`` when given.

    BSTDG's rows have ``acc_percent`` NaN: its numbers are not public.
    """
    text = files("bstdg.report").joinpath("published.yaml").read_text()
    data = yaml.safe_load(text)
    rows = [
        {**row, "citation": data["citations"][row["method"]]} for row in data["results"]
    ]
    table = pd.DataFrame(rows).reindex(columns=list(COLUMNS))
    if datasets is not None:
        table = table[table["dataset"].isin(list(datasets))]
    return table.reset_index(drop=True)
