"""Keep freed heap memory for reuse (glibc ``mallopt``), so a training step gets no fresh pages.

glibc returns a large freed block to the kernel, either because it was mapped on its own
(``M_MMAP_THRESHOLD``) or because it ended the heap above ``M_TRIM_THRESHOLD``. The next
allocation of that size is then served by fresh pages, and each page costs a page fault that
the kernel zeroes on first touch. A training step frees and reallocates the same buffers
every time (the weight gradient autograd hands to the optimiser, the optimiser's
temporaries). A ``mnist_bstdg`` step (784-600-10, batch 32, fused Adam), one thread, took
880 minor page faults from a fresh model (about 3.5 MB of fresh pages: 420 in the backward,
460 in the optimiser step) and 460-620 from its epoch-30 checkpoint; with both thresholds
raised it took none. The 784-400-10 net of ``bstdg-bench`` took 2.

The setting is process-wide and stays for the life of the process: once set, glibc no longer
adapts the thresholds, and no call gives that adaptive mode back. A process that has freed
memory keeps up to ``trim_threshold`` of it instead of returning it to the system.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

# mallopt parameter numbers (glibc's malloc.h)
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
# Blocks below this come from the heap: 32 MiB, the cap of glibc's own adaptive threshold on
# 64-bit systems (DEFAULT_MMAP_THRESHOLD_MAX); larger blocks are still mapped on their own.
MMAP_THRESHOLD = 32 << 20
# Free memory at the heap's end kept before the heap is trimmed.
TRIM_THRESHOLD = 128 << 20


def _glibc() -> ctypes.CDLL | None:
    """The C library if it is glibc (the only one with these ``mallopt`` parameters)."""
    if platform.system() != "Linux" or platform.libc_ver()[0] != "glibc":
        return None
    name = ctypes.util.find_library("c")
    if name is None:
        return None
    libc = ctypes.CDLL(name)
    return libc if hasattr(libc, "mallopt") else None


def keep_freed_memory(mmap_threshold: int = MMAP_THRESHOLD,
                      trim_threshold: int = TRIM_THRESHOLD) -> bool:
    """Serve blocks below ``mmap_threshold`` bytes from the heap and keep up to
    ``trim_threshold`` bytes of freed heap (see the module docstring). Returns True once
    glibc has both settings, False (nothing changed) on another C library; a value glibc
    refuses raises ValueError."""
    settings = (("mmap_threshold", M_MMAP_THRESHOLD, mmap_threshold, MMAP_THRESHOLD),
                ("trim_threshold", M_TRIM_THRESHOLD, trim_threshold, TRIM_THRESHOLD))
    for name, _, value, _ in settings:
        if not 0 <= value < 2**31:
            raise ValueError(f"{name} must be a byte count in [0, 2**31), got {value}")
    libc = _glibc()
    if libc is None:
        return False
    for name, param, value, default in settings:
        if not libc.mallopt(param, ctypes.c_int(value)):
            raise ValueError(f"glibc refused {name}={value} (mallopt returned 0); the default "
                             f"is {default}")
    return True
