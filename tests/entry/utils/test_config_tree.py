"""The run config prints as a compact tree: one line per leaf, classes on section labels."""

from __future__ import annotations

from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf
from rich.console import Console

from bstdg.train import CONFIG_DIR
from bstdg.utils.config_tree import config_tree, format_value, print_config_tree


def _compose(*overrides: str):
    GlobalHydra.instance().clear()
    try:
        with initialize_config_dir(version_base="1.3", config_dir=CONFIG_DIR):
            return compose(config_name="train.yaml", overrides=list(overrides))
    finally:
        GlobalHydra.instance().clear()


def _render(cfg) -> list[str]:
    console = Console(record=True, width=100, color_system=None)
    print_config_tree(cfg, console=console)
    return console.export_text().splitlines()


def test_tree_of_an_experiment() -> None:
    cfg = _compose("experiment=synthetic_quickstart", "paths.output_dir=/tmp/run",
                   "trainer.default_root_dir=/tmp/run")
    lines = _render(cfg)
    text = "\n".join(lines)
    assert lines[0] == "config"
    assert "run_name: synthetic_quickstart" in text
    assert "model  bstdg.lit.module.SpikingClassifier" in text
    assert "net  bstdg.snn.SpikingNet (partial)" in text
    assert "init_range: [[-1.0, 1.0], [-5.0, 5.0]]" in text
    assert "_target_" not in text
    assert not [ln for ln in lines if ln.lstrip("│├└─ ").startswith("hydra")]
    order = [next(i for i, ln in enumerate(lines) if ln.lstrip("│├└─ ").startswith(name))
             for name in ("data", "encoder", "model", "loss", "trainer", "callbacks", "paths")]
    assert order == sorted(order)
    yaml_lines = OmegaConf.to_yaml(cfg).splitlines()
    assert len(lines) < len(yaml_lines)


def test_long_values_are_not_wrapped() -> None:
    cfg = OmegaConf.create({"paths": {"output_dir": "/x" * 80}})
    lines = _render(cfg)
    assert len(lines) == 3 and lines[-1].endswith("/x")


def test_values_in_flow_style() -> None:
    assert format_value(None) == "null"
    assert format_value(True) == "true"
    assert format_value([1, [2.5, "a"]]) == "[1, [2.5, a]]"
    assert format_value({"a": None}) == "{a: null}"


def test_unresolvable_interpolation_prints_as_written() -> None:
    cfg = OmegaConf.create({"paths": {"root": "/r", "log_dir": "${paths.root}/logs",
                                      "output_dir": "${paths.not_there}/run"}})
    console = Console(record=True, width=100, color_system=None)
    console.print(config_tree(cfg))
    text = console.export_text()
    assert "output_dir: ${paths.not_there}/run" in text
    assert "log_dir: /r/logs" in text
