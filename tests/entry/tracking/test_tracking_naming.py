"""W&B run names and groups (issue 13 item 2)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bstdg.tracking.naming import MAX_NAME, identity, recorded_identity, run_group, run_name


@pytest.mark.parametrize("overrides,expected", [
    (["encoder.T=16", "model.net.rule.kernel=const", "seed=3"], "mnist_bstdg-T16-kernel=const-s3"),
    ([], "mnist_bstdg"),
    (["model.net.hidden=[400, 400]", "data=fmnist", "+model.net.input_dropout=0.1"],
     "mnist_bstdg-hidden=400,400-data=fmnist-input_dropout=0.1"),
    (["logger=wandb", "trainer.enable_progress_bar=false", "paths.root_dir=/x",
      "data.data_dir=/data", "hydra.run.dir=out", "experiment=mnist_bstdg", "tags=[a]",
      "~model.scheduler", "extras.print_config=false", "callbacks.model_summary=null"],
     "mnist_bstdg"),
    (["trainer.max_epochs=5", "model.optimizer.lr=0.01"],
     "mnist_bstdg-max_epochs=5-lr=0.01"),
])
def test_name_is_the_experiment_plus_result_changing_overrides(overrides: list[str],
                                                               expected: str) -> None:
    assert run_name("mnist_bstdg", overrides) == expected


def test_long_names_are_cut_with_a_hash_of_the_whole() -> None:
    many = [f"model.net.key{k}={'x' * 10}" for k in range(20)]
    name = run_name("mnist_bstdg", many)
    other = run_name("mnist_bstdg", [*many[:-1], "model.net.key19=y"])
    assert len(name) == len(other) == MAX_NAME and name != other


def test_group_is_the_multirun_stamp_or_the_experiment() -> None:
    assert run_group("mnist_bstdg", None) == "mnist_bstdg"
    assert run_group("mnist_bstdg", "2024-01-02_03-04-05_123456") == "2024-01-02_03-04-05_123456"
    assert identity("e", {"overrides": ["seed=1"], "multirun_stamp": "s", "job_num": 0}) == {
        "name": "e-s1", "group": "s"}


def test_eval_finds_the_training_identity_in_its_run_folder(tmp_path: Path) -> None:
    (tmp_path / "metrics.json").write_text(json.dumps(
        {"experiment": "mnist_bstdg", "overrides": ["encoder.T=16"], "multirun_stamp": "stamp"}))
    assert recorded_identity(tmp_path, "fallback") == {"name": "mnist_bstdg-T16",
                                                       "group": "stamp"}
    assert recorded_identity(tmp_path / "missing", "lone") == {"name": "lone", "group": "lone"}
