import ast
from pathlib import Path

import bstdg.encoding as enc

ALLOWED_TOP = {"torch", "numpy", "math", "numbers", "typing", "__future__"}


def test_encoding_imports_torch_only() -> None:
    pkg = Path(enc.__file__).parent
    for f in pkg.glob("*.py"):
        tree = ast.parse(f.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level > 0:  # relative import inside the package
                    continue
                names = [node.module or ""]
            else:
                continue
            for n in names:
                assert n.split(".")[0] in ALLOWED_TOP, f"{f.name} imports {n}"


def test_public_api() -> None:
    for name in (
        "latency_linear",
        "latency_log",
        "shd_first_spike",
        "LatencyEncoder",
        "SHDFirstSpikeEncoder",
        "SpikeEncoder",
    ):
        assert name in enc.__all__ and hasattr(enc, name)


def test_option_b_binning_is_not_exported() -> None:
    """Option B (event counts) needs a multi-spike input layer; see bstdg.encoding.shd."""
    assert not {"shd_binned_events", "bin_counts"} & set(dir(enc))
