"""Sweep definitions stay in step with the config tree."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from omegaconf import OmegaConf

from bstdg.train import CONFIG_DIR

SWEEPS = Path(CONFIG_DIR).parent / "sweeps"


def test_wandb_sweep_parameters_are_valid_overrides(make_cfg) -> None:
    spec = yaml.safe_load((SWEEPS / "wandb_mnist_bstdg.yaml").read_text())
    assert spec["command"][-1] == "${args_no_hyphens}"
    overrides = []
    for key, param in spec["parameters"].items():
        value = param.get("value", (param.get("values") or [param.get("min")])[0])
        overrides.append(f"{key}={str(value).lower() if isinstance(value, bool) else value}")
    cfg = make_cfg(*overrides)
    assert cfg.run_name == "mnist_bstdg"


@pytest.mark.parametrize("search,experiment", [("mnist_optuna", "mnist_bstdg"),
                                               ("caltech_optuna", "caltech_bstdg")])
def test_optuna_search_composes(make_cfg, search: str, experiment: str) -> None:
    cfg = make_cfg(f"hparams_search={search}", f"experiment={experiment}")
    assert cfg.hydra.sweeper.direction == "maximize"
    assert cfg.optimized_metric == "val/acc_best"
    for key in cfg.hydra.sweeper.params:
        assert OmegaConf.select(cfg, key, default="<absent>") != "<absent>", key


def test_launchers_compose(make_cfg) -> None:
    for launcher, target in (("joblib", "JoblibLauncher"), ("slurm", "SlurmLauncher")):
        cfg = make_cfg(f"launcher={launcher}")
        assert target in cfg.hydra.launcher._target_


def _table_calls() -> dict[str, list[str]]:
    """{script#k: overrides of its k-th `table NAME ...` call} (continuation lines joined).
    A recipe without one makes its run records with a script of sweeps/ (the probes)."""
    calls = {}
    for script in sorted(SWEEPS.glob("table_*.sh")):
        text = script.read_text().replace("\\\n", " ")
        text = re.sub(r"\"?\$\{\w+:-([^}]*)\}\"?", r"\1", text)  # "${SEEDS:-1,2}" -> 1,2
        lines = [ln.strip() for ln in text.splitlines() if ln.strip().startswith("table ")]
        scripted = re.search(r'python "\$\(dirname "\$0"\)/(\w+\.py)"', text)
        assert lines or (scripted and (SWEEPS / scripted.group(1)).is_file()), \
            f"{script.name} makes no table"
        for k, line in enumerate(lines):
            calls[f"{script.name}#{k}"] = [w for w in line.split()[2:] if w != '"$@"']
    return calls


def test_every_table_recipe_composes_and_reports(make_cfg) -> None:
    calls = _table_calls()
    scripts = {name.split("#")[0] for name in calls}
    assert {"table_mnist.sh", "table_fmnist.sh", "table_caltech.sh", "table_shd.sh",
            "table_T_sweep.sh", "table_ablations.sh", "table_baselines.sh"} <= scripts
    for script, overrides in calls.items():
        first = [o.split("=", 1)[0] + "=" + o.split("=", 1)[1].split(",")[0] for o in overrides]
        cfg = make_cfg(*first)
        assert cfg.run_name != "default", script
    common = (SWEEPS / "_table.sh").read_text()
    assert "bstdg-report" in common and "launcher=joblib" in common


def test_slurm_launcher_matches_the_cpu_trainer(make_cfg) -> None:
    launcher = make_cfg("launcher=slurm").hydra.launcher
    assert launcher.gpus_per_node == 0  # the default trainer runs on the CPU
    setup = OmegaConf.to_container(launcher.setup, resolve=True)
    assert setup == [f"export OMP_NUM_THREADS={launcher.cpus_per_task}",
                     f"export NUMBA_NUM_THREADS={launcher.cpus_per_task}"]
