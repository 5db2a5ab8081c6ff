"""Deployment tests: bstdg-export, the numpy runtime (bstdg.runtime) and the NIR graph."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from helpers.deploy_helpers import SOURCE, small_model


@pytest.fixture
def exported_small(tmp_path: Path) -> tuple[SimpleNamespace, Path]:
    """(model, path of its export) for a small random net."""
    from bstdg.export import write_export

    model = small_model()
    path = tmp_path / "model.npz"
    write_export(model, path, SOURCE)
    return model, path
