"""Report tests reuse the Hydra compose helpers of tests/lit."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "lit"))
