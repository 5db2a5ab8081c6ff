"""sweeps/released_loop.py: the released BS4NN loop and the platform's, on fake MNIST files,
give the same curves and the same final models (run records bstdg-report reads)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

from bstdg.report.runs import load_runs, usable_runs

SCRIPT = Path(__file__).resolve().parents[2] / "sweeps" / "released_loop.py"


def test_both_loops_give_the_same_curve(mnist_root: Path, tmp_path: Path) -> None:
    main = runpy.run_path(str(SCRIPT))["main"]
    written = main(["--out", str(tmp_path / "out"), "--seed", "3", "--samples", "96",
                    "--eval-every", "48", "--data-dir", str(mnist_root), "data.val_size=20"])
    platform, released = (json.loads(p.read_text()) for p in written)
    assert platform["experiment"] == "released_loop_bs4nn_platform"
    assert released["experiment"] == "released_loop_bs4nn_released"
    assert platform["curve/samples"] == [48, 96]
    for key in ("curve/val_acc", "curve/val_acc_ties", "test/acc", "test/acc_ties"):
        assert platform[key] == released[key], key
    assert len(usable_runs(load_runs(tmp_path / "out"))) == 2
