"""Peak memory of one training step.

CPU: each (model, T) runs in a fresh ``python -m bstdg.bench.memory`` subprocess, which
imports everything, builds the model, prepares one batch, runs a 1-sample warm-up step
(numba kernel load, autograd start-up), reads its own peak RSS (``ru_maxrss``, the
baseline), runs one training step on the full batch and reads the peak RSS again.
``peak_bytes`` is the whole process's high-water mark (what ``ru_maxrss`` of the child
reports to its parent); ``step_bytes`` = peak - baseline is the step's own growth, coarse
(RSS pages, allocator caching) and possibly 0 when the step fits in already-touched memory.
tracemalloc is not used: it does not see torch's allocations.

CUDA: in process, ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``;
the baseline is ``memory_allocated`` before the step.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch


def _maxrss_bytes() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return int(rss) if sys.platform == "darwin" else int(rss) * 1024


def step_memory_cpu(model: str, T: int, x: np.ndarray, y: np.ndarray, threads: int,
                    timeout: float = 300.0) -> dict[str, Any]:
    """Run one training step of ``model`` at ``T`` on batch (x, y) in a fresh subprocess."""
    with tempfile.TemporaryDirectory() as tmp:
        batch_file = Path(tmp) / "batch.npz"
        np.savez(batch_file, x=x, y=y)
        env = dict(os.environ, OMP_NUM_THREADS=str(threads))
        cmd = [sys.executable, "-m", "bstdg.bench.memory", "--model", model, "--T", str(T),
               "--threads", str(threads), "--batch-file", str(batch_file)]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=timeout,
                              check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"memory subprocess for {model} T={T} failed:\n{proc.stderr}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["method"] = "subprocess ru_maxrss (peak RSS of a fresh process)"
    return result


def step_memory_cuda(model: str, T: int, x: np.ndarray, y: np.ndarray,
                     device: torch.device) -> dict[str, Any]:
    """Peak CUDA memory allocated by one training step (in this process)."""
    from bstdg.bench.models import make_runner

    runner = make_runner(model, x, y, T, device)
    runner.train_batch(0, 1)
    torch.cuda.synchronize(device)
    torch.cuda.empty_cache()
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    runner.train_batch(0, len(x))
    torch.cuda.synchronize(device)
    peak = torch.cuda.max_memory_allocated(device)
    del runner
    torch.cuda.empty_cache()
    return {"model": model, "T": T, "batch_size": len(x), "peak_bytes": int(peak),
            "base_bytes": int(base), "step_bytes": int(peak - base),
            "method": "torch.cuda.max_memory_allocated"}


def _child(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bstdg.bench.memory")
    parser.add_argument("--model", required=True)
    parser.add_argument("--T", type=int, required=True)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-file", required=True)
    args = parser.parse_args(argv)
    from bstdg.bench.models import make_runner
    from bstdg.bench.timing import set_threads

    set_threads(args.threads)

    data = np.load(args.batch_file)
    x, y = data["x"], data["y"]
    runner = make_runner(args.model, x, y, args.T, "cpu")
    runner.train_batch(0, 1)
    base = _maxrss_bytes()
    runner.train_batch(0, len(x))
    peak = _maxrss_bytes()
    print(json.dumps({"model": args.model, "T": args.T, "batch_size": int(len(x)),
                      "threads": torch.get_num_threads(),
                      "peak_bytes": peak, "base_bytes": base,
                      "step_bytes": peak - base}))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child())
