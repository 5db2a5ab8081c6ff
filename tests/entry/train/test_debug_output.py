"""A debug run prints what the user needs: the config tree, the model, the metrics; not the
compiler's internals nor Lightning's tips."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

NOISE = ("][numba", "][h5py", "litlogger", "💡 Tip", "GPU available: False",
         "TPU available", "does not have many workers", "isinstance(treespec, LeafSpec)",
         "Skipping setting a default `ModelSummary`")


def test_debug_run_prints_under_200_lines(tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1",
           "NUMBA_CACHE_DIR": str(tmp_path / "numba_cache")}  # force a fresh compile
    done = subprocess.run(
        [sys.executable, "-m", "bstdg.train", "debug=fdr", "experiment=synthetic_quickstart",
         f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert not [ln for ln in lines if any(n in ln for n in NOISE)]
    assert lines[0] == "config"  # the config tree comes first
    assert any("model  bstdg.lit.module.SpikingClassifier" in ln for ln in lines)
    assert any("test/acc" in ln for ln in lines)
    assert len(lines) < 200, len(lines)
