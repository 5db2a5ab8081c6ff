"""Environment metadata recorded with every run (metrics.json, W&B config)."""

from __future__ import annotations

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


def git_commit(start: Path | None = None) -> str | None:
    """The git commit of the source tree, or None when not in a checkout."""
    here = start or Path(__file__).resolve().parent
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"],
            cwd=here,
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def run_metadata(device: str | None = None) -> dict[str, object]:
    """Versions, git commit, device and thread count, as flat keys."""
    if device is None:
        device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    return {
        "version/torch": torch.__version__,
        "version/pytorch_lightning": _version("pytorch-lightning"),
        "version/hydra": _version("hydra-core"),
        "version/bstdg": _version("bstdg"),
        "version/python": platform.python_version(),
        "git_commit": git_commit(),
        "device": device,
        "threads": torch.get_num_threads(),
    }
