"""Deployment tests: bstdg-export, the numpy runtime (bstdg.runtime) and the NIR graph."""

from __future__ import annotations

import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

# the Hydra compose helpers of the Lightning tests (hydra_compose.py) and deploy_helpers.py
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lit"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from deploy_helpers import SOURCE, small_model  # noqa: E402


@pytest.fixture
def exported_small(tmp_path: Path) -> tuple[SimpleNamespace, Path]:
    """(model, path of its export) for a small random net."""
    from bstdg.export import write_export

    model = small_model()
    path = tmp_path / "model.npz"
    write_export(model, path, SOURCE)
    return model, path
