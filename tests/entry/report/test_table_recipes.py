"""Each table recipe (sweeps/table_<name>.sh) is the one way its rows of docs/results.md are
made: run with QUICK=1 on small fake data, its runs land in that table's sections and in no
other, and every section reads a folder that a recipe writes."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bstdg.report.results_doc import build_results_doc
from bstdg.report.results_spec import load_spec
from bstdg.train import CONFIG_DIR

REPO = Path(CONFIG_DIR).parent
SPEC = REPO / "docs" / "results.yaml"
SWEEPS = REPO / "sweeps"
# random fake images may leave every output silent: train on regardless
FAKE = ["callbacks.stop_on_silence=null"]
FAKE_MNIST = ["data.val_size=20", *FAKE]
# recipe -> (extra environment, overrides that fit the fake data, folders it writes)
RECIPES: dict[str, tuple[dict[str, str], list[str]]] = {
    "mnist": ({}, FAKE_MNIST),
    "fmnist": ({}, FAKE_MNIST),
    "caltech": ({}, ["data.train_per_class=8", *FAKE]),
    "caltech_probe": ({}, ["--train-per-class", "8"]),
    "released_loop": ({}, ["data.val_size=20"]),
    "shd": ({"SYNTHETIC": "1"}, FAKE),
    "T_sweep": ({}, FAKE_MNIST),
    "ablations": ({}, FAKE_MNIST),
    "baselines": ({}, FAKE_MNIST),
}


def recipe_folders(name: str, env: dict[str, str]) -> set[str]:
    """The folders under logs/tables that ``sweeps/table_<name>.sh`` writes with ``env``."""
    text = (SWEEPS / f"table_{name}.sh").read_text()
    if name == "shd":  # one branch per data source
        synthetic, _, real = text.partition("else")
        text = synthetic if env.get("SYNTHETIC") == "1" else real
    return {f"logs/tables/{m}"
            for m in re.findall(r"^\s*(?:table|probe|loop)\s+(\S+)", text, flags=re.M)}


def reads(section_folder: str, folders: set[str]) -> bool:
    """A section reads a recipe's output: one of its folders, or the folder holding them."""
    return any(f == section_folder or f.startswith(f"{section_folder}/") for f in folders)


def test_every_section_reads_a_folder_its_recipe_writes() -> None:
    spec = load_spec(SPEC)
    outputs = {name: recipe_folders(name, env) for name, (env, _) in RECIPES.items()}
    for section in spec.sections:
        assert len(section.runs) == 1, section.title
        names = [n for n, folders in outputs.items() if reads(section.runs[0], folders)]
        assert len(names) == 1, (section.title, names)
        assert f"make table-{names[0]}" in section.command, (section.title, section.command)
    for name, folders in outputs.items():
        assert any(reads(s.runs[0], folders) for s in spec.sections), f"no section reads {name}"


@pytest.mark.slow
@pytest.mark.parametrize("name", list(RECIPES))
def test_quick_recipe_runs_land_in_its_sections_only(name: str, mnist_root: Path,
                                                     caltech_root: Path, tmp_path: Path) -> None:
    env_extra, overrides = RECIPES[name]
    repo = tmp_path / "repo"
    repo.mkdir()
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, **env_extra, "QUICK": "1", "SEEDS": "1", "SWEEP_ROOT": "logs/tables",
           "REPORT_ROOT": "results", "BSTDG_DATA_DIR": str(mnist_root), "WANDB_MODE": "disabled",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    done = subprocess.run(["bash", str(SWEEPS / f"table_{name}.sh"), *overrides], cwd=repo,
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    folders = recipe_folders(name, env_extra)
    n_jobs = sum(1 for f in folders for _ in (repo / f).rglob("metrics.json"))
    assert n_jobs > 0

    doc = build_results_doc(SPEC, root=repo)
    for result in doc.sections:
        if reads(result.section.runs[0], folders):
            assert result.n_runs > 0, result.section.title
            assert result.verdict != "not run yet"
        else:
            assert result.n_runs == 0 and not result.files, result.section.title
    assert sum(r.n_runs for r in doc.sections if reads(r.section.runs[0], folders)) == n_jobs
