"""Environment metadata recorded with every run (metrics.json, W&B config)."""

from __future__ import annotations

import os
import platform
import subprocess
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import torch


def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:
        return "unknown"


def _git(args: list[str], start: Path | None) -> str | None:
    """stdout of ``git <args>`` in the source tree, or None outside a checkout."""
    here = start or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", *args], cwd=here, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit(start: Path | None = None) -> str | None:
    """The git commit of the source tree, or None when not in a checkout."""
    out = _git(["rev-parse", "HEAD"], start)
    return (out or "").strip() or None


def git_dirty(start: Path | None = None) -> bool | None:
    """True when tracked files differ from the commit, None when not in a checkout."""
    out = _git(["status", "--porcelain", "--untracked-files=no"], start)
    return None if out is None else bool(out.strip())


def _cpuinfo_value(*prefixes: str) -> str | None:
    """The value of the first /proc/cpuinfo line starting with one of ``prefixes`` (None
    without /proc/cpuinfo or such a line)."""
    cpuinfo = Path("/proc/cpuinfo")
    if not cpuinfo.is_file():
        return None
    for line in cpuinfo.read_text(errors="replace").splitlines():
        if line.startswith(prefixes):
            return line.split(":", 1)[1].strip()
    return None


def cpu_model() -> str:
    """The CPU's model name (from /proc/cpuinfo on Linux, else the platform's guess)."""
    return (_cpuinfo_value("model name") or platform.processor() or platform.machine()
            or "unknown")


SIMD_FLAGS = ("avx512bw", "avx512f", "avx2", "avx", "sse4_2", "neon", "asimd")


def cpu_simd() -> str:
    """The widest SIMD extension in the CPU's flags (/proc/cpuinfo; "unknown" elsewhere):
    event-driven int16 kernels and a float matrix product gain differently from it, so
    speed ratios of one machine class do not carry over to another."""
    flags = _cpuinfo_value("flags", "Features")
    if flags is None:
        return "unknown"
    return next((f for f in SIMD_FLAGS if f in set(flags.split())), "none")


def load_average() -> list[float] | None:
    """The 1, 5 and 15 minute load averages, or None where the OS has none."""
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (AttributeError, OSError):
        return None


def run_metadata(device: str | None = None) -> dict[str, object]:
    """Versions, git commit and dirty flag, device, CPU and thread count, as flat keys."""
    if device is None:
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "version/torch": torch.__version__,
        "version/pytorch_lightning": _version("pytorch-lightning"),
        "version/hydra": _version("hydra-core"),
        "version/bstdg": _version("bstdg"),
        "version/numba": _version("numba"),
        "version/python": platform.python_version(),
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "device": device,
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
    }
