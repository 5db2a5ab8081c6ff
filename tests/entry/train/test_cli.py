"""The console scripts as users run them: a single run, eval of its checkpoint, a multirun."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

QUIET = ["experiment=synthetic_quickstart", "logger=csv", "trainer.max_epochs=1",
         "trainer.enable_progress_bar=false", "extras.print_config=false"]


def _run(module: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "WANDB_MODE": "disabled", "OMP_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-m", module, *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300, check=False)


def test_train_then_eval_from_the_command_line(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    done = _run("bstdg.train", *QUIET, f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    trained = json.loads((run_dir / "metrics.json").read_text())
    assert (run_dir / ".hydra" / "config.yaml").is_file()
    assert (run_dir / "csv").is_dir()
    ckpt = run_dir / "checkpoints" / "last.ckpt"
    done = _run("bstdg.eval", f"ckpt_path={ckpt}", f"hydra.run.dir={tmp_path / 'eval'}",
                "extras.print_config=false", "trainer.enable_progress_bar=false", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    evaluated = json.loads((tmp_path / "eval" / "metrics.json").read_text())
    assert evaluated["experiment"] == "synthetic_quickstart"
    assert evaluated["test/acc"] == trained["test/acc"]  # max_epochs=1: best == last


def test_multirun_jobs_get_their_own_dirs(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    done = _run("bstdg.train", "-m", *QUIET, "encoder.T=8,16", f"hydra.sweep.dir={sweep}",
                cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = [json.loads((sweep / str(k) / "metrics.json").read_text()) for k in (0, 1)]
    assert all(r["status"] == "finished" for r in results)


def test_bad_config_value_is_refused_with_valid_choices(tmp_path: Path) -> None:
    done = _run("bstdg.train", *QUIET, "model.net.rule.kernel=gauss",
                f"hydra.run.dir={tmp_path / 'bad'}", cwd=tmp_path)
    assert done.returncode != 0
    assert "unknown kernel 'gauss'; valid: const, exp, linear_relpsp" in done.stderr
    metrics = json.loads((tmp_path / "bad" / "metrics.json").read_text())
    assert metrics["status"] == "failed"


def test_ddp_simulation_on_cpu(tmp_path: Path) -> None:
    """Two CPU processes (ddp_spawn): metrics are reduced across ranks and written once."""
    run_dir = tmp_path / "ddp"
    args = [a for a in QUIET if not a.startswith("logger")]
    done = _run("bstdg.train", *args, "logger=none", "trainer=ddp_sim",
                f"hydra.run.dir={run_dir}", cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["status"] == "finished"
    # one mean over all 256 synthetic test samples, not a mean of per-rank means
    correct = metrics["test/acc"] * 256
    assert abs(correct - round(correct)) < 1e-3


def test_a_rerun_multirun_skips_finished_jobs_and_resumes_the_killed_one(tmp_path: Path) -> None:
    sweep = tmp_path / "sweep"
    args = ("bstdg.train", "-m", *QUIET, "seed=1,2", "ckpt_path=auto",
            f"hydra.sweep.dir={sweep}")
    assert (first := _run(*args, cwd=tmp_path)).returncode == 0, first.stderr[-3000:]
    finished = (sweep / "0" / "metrics.json").read_bytes()
    killed = json.loads((sweep / "1" / "metrics.json").read_text())
    (sweep / "1" / "metrics.json").write_text(json.dumps({**killed, "status": "running"}))
    again = _run(*args, cwd=tmp_path)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"{sweep / '0'}: already finished (metrics.json); skipped" in again.stderr
    assert f"{sweep / '1'}: resuming from {sweep / '1' / 'checkpoints' / 'last.ckpt'}" \
        in again.stderr
    assert (sweep / "0" / "metrics.json").read_bytes() == finished
    resumed = json.loads((sweep / "1" / "metrics.json").read_text())
    assert resumed["status"] == "finished"
    assert resumed["test/acc"] == killed["test/acc"]  # the same weights, tested again
