"""Peak memory of one training step.

CPU: each (model, T) runs in a fresh ``python -m bstdg.bench.memory`` subprocess, which
imports everything, builds the model, prepares one batch and runs a 1-sample warm-up step
(numba kernel load, autograd start-up). Then, on Linux, it resets the kernel's peak-RSS
mark of its address space (``echo 5 > /proc/self/clear_refs``), reads its RSS (the
baseline), runs one training step on the full batch and reads the peak RSS (``VmHWM`` of
``/proc/self/status``). ``peak_bytes`` is the whole process's peak RSS during the step
(imports, model and data included); ``step_bytes`` = peak - baseline is the step's own
growth (RSS pages: coarse, 0 when the step fits in memory already touched).

``ru_maxrss`` is not used on Linux: it survives fork + exec, so a child reports at least
its parent's peak. tracemalloc is not used: it does not see torch's allocations. Where
``/proc`` is missing the child falls back to ``ru_maxrss`` (no reset; ``method`` says so).

CUDA: in process, ``torch.cuda.max_memory_allocated`` after ``reset_peak_memory_stats``;
the baseline is ``memory_allocated`` before the step.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import torch

_STATUS = Path("/proc/self/status")
_CLEAR_REFS = Path("/proc/self/clear_refs")


def _status_kib(field: str) -> int | None:
    try:
        match = re.search(rf"^{field}:\s+(\d+)\s+kB", _STATUS.read_text(), re.MULTILINE)
    except OSError:
        return None
    return int(match.group(1)) if match else None


def _reset_peak() -> bool:
    """Reset the peak-RSS mark (VmHWM) to the current RSS; False where unsupported."""
    try:
        _CLEAR_REFS.write_text("5")
    except OSError:
        return False
    return True


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
    return json.loads(proc.stdout.strip().splitlines()[-1])


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
    if _reset_peak() and _status_kib("VmHWM") is not None:
        method = "VmHWM of /proc/self/status, reset by clear_refs before the step"
        base = (_status_kib("VmRSS") or 0) * 1024
        runner.train_batch(0, len(x))
        peak = (_status_kib("VmHWM") or 0) * 1024
    else:
        method = "ru_maxrss (not reset; includes the parent's peak at fork)"
        base = _maxrss_bytes()
        runner.train_batch(0, len(x))
        peak = _maxrss_bytes()
    print(json.dumps({"model": args.model, "T": args.T, "batch_size": int(len(x)),
                      "threads": torch.get_num_threads(), "peak_bytes": peak,
                      "base_bytes": base, "step_bytes": peak - base, "method": method}))
    return 0


if __name__ == "__main__":
    raise SystemExit(_child())
