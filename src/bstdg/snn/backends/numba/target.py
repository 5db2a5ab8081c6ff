"""The CPU target numba compiles the kernels for: 512-bit vectors on AVX-512 CPUs.

LLVM tunes recent Intel cores (Skylake-SP and later) to prefer 256-bit vectors even where
AVX-512 exists, so numba's loops over a layer's potentials ran on ``ymm`` registers only.
The event-driven kernels are integer (int8 rows added into int16 potentials) and memory-light,
the case where 512-bit registers pay. ``use_wide_vectors()`` gives numba the host's CPU and
features plus ``-prefer-256-bit`` before the kernels compile (the features are part of the
key of numba's on-disk cache, so cached 256-bit code is not reused). It changes nothing
where the CPU has no AVX-512BW, where numba has AVX switched off (NUMBA_ENABLE_AVX=0, or its
own guard for old virtual CPUs), where NUMBA_CPU_NAME or NUMBA_CPU_FEATURES are set, or with
``BSTDG_NUMBA_VECTOR_WIDTH=256``. It sets numba's target for the whole process, before the
kernels are first compiled; numba code compiled earlier keeps its target.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import numba

WIDTH_ENV = "BSTDG_NUMBA_VECTOR_WIDTH"
WIDTHS = ("256", "512")


def wide_vector_features(host_features: Mapping[str, bool], width: str) -> str | None:
    """numba's CPU feature string for ``width``-bit vectors, or None to keep numba's own
    (no AVX-512BW, or width 256). ``host_features`` maps LLVM feature names to on/off."""
    if width not in WIDTHS:
        raise ValueError(f"{WIDTH_ENV}={width!r} is invalid: use 256 or 512 (the widest "
                         f"vectors the numba kernels may use)")
    if width == "256" or not host_features.get("avx512bw", False):
        return None
    flat = ",".join(f"{'+' if on else '-'}{name}" for name, on in sorted(host_features.items())
                    if name != "prefer-256-bit")
    return f"{flat},-prefer-256-bit"


def use_wide_vectors() -> bool:
    """Point numba at 512-bit vectors on an AVX-512 host (see the module docstring); True if
    the target was changed."""
    if numba.config.CPU_NAME or numba.config.CPU_FEATURES or not numba.config.ENABLE_AVX:
        return False
    import llvmlite.binding as ll

    try:
        host = dict(ll.get_host_cpu_features())
    except RuntimeError:  # llvmlite cannot read this host's features
        return False
    features = wide_vector_features(host, os.environ.get(WIDTH_ENV, "512"))
    if features is None:
        return False
    numba.config.CPU_NAME = ll.get_host_cpu_name()
    numba.config.CPU_FEATURES = features
    return True
