"""``bstdg-bench``: speed and memory of BSTDG training/inference against in-repo baselines.

All figures come from one process (memory: one fresh subprocess per setting on CPU), so the
ratios compare like with like. Run ``python -m bstdg.bench --help`` or ``bstdg-bench --help``.
"""

from bstdg.bench.cli import main

__all__ = ["main"]
