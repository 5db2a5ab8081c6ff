"""The run's ``metrics.json``: a flat JSON object, written atomically."""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

# Per-sample test results of a run (bstdg.lit.callbacks.PerSampleResults), beside metrics.json.
TEST_SAMPLES_FILE = "test_samples.npz"


def _plain(value: Any) -> Any:
    if isinstance(value, torch.Tensor):
        value = value.item() if value.numel() == 1 else value.tolist()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def flat_metrics(metrics: Mapping[str, Any]) -> dict[str, Any]:
    """Scalars of a metrics mapping (tensors converted, non-finite floats as null)."""
    return {str(k): _plain(v) for k, v in metrics.items()}


def write_metrics(path: Path, metrics: Mapping[str, Any]) -> Path:
    """Write ``metrics`` as sorted, flat JSON via a temporary file and an atomic rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(flat_metrics(metrics), indent=2, sort_keys=True) + "\n")
    os.replace(tmp, path)
    return path
