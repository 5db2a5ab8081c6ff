"""A debug run prints what the user needs, not the compiler's internals."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


def test_debug_run_keeps_library_debug_logs_out(tmp_path: Path) -> None:
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1",
           "NUMBA_CACHE_DIR": str(tmp_path / "numba_cache")}  # force a fresh compile
    done = subprocess.run(
        [sys.executable, "-m", "bstdg.train", "debug=fdr", "experiment=synthetic_quickstart",
         f"hydra.run.dir={tmp_path / 'run'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    lines = (done.stdout + done.stderr).splitlines()
    assert not [ln for ln in lines if "][numba" in ln or "][h5py" in ln]
    assert len(lines) < 400, len(lines)
