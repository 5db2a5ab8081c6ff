"""Issue 13: what a 2-job multirun and an eval of one of its checkpoints write into their
offline W&B runs, read back from the ``.wandb`` record files."""

from __future__ import annotations

import json

import pytest

from helpers.wandb_offline import (
    TINY,
    leaves,
    offline_env,
    offline_runs,
    run_script,
    summary_kinds,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def sweep(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A 2-job multirun (encoder.T=8,16) with W&B offline, then bstdg-eval of job 0."""
    tmp = tmp_path_factory.mktemp("wandb_sweep")
    env = offline_env(tmp)
    sweep_dir = tmp / "multirun"
    done = run_script("bstdg.train", "-m", *TINY, "logger=wandb", "encoder.T=8,16",
                      "trainer.log_every_n_steps=1",
                      "callbacks.wandb_media.every_n_epochs=1",
                      f"hydra.sweep.dir={sweep_dir}", cwd=tmp, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    evaluated = run_script("bstdg.eval", f"ckpt_path={sweep_dir / '0/checkpoints/last.ckpt'}",
                           f"hydra.run.dir={tmp / 'eval'}", "extras.print_config=false",
                           "trainer.enable_progress_bar=false", cwd=tmp, env=env)
    assert evaluated.returncode == 0, evaluated.stderr[-3000:]
    jobs = [offline_runs(sweep_dir / str(k)) for k in (0, 1)]
    assert [len(runs) for runs in jobs] == [1, 1]
    evals = offline_runs(tmp / "eval")
    assert len(evals) == 1
    return {"train": [runs[0] for runs in jobs], "eval": evals[0], "dir": sweep_dir,
            "eval_dir": tmp / "eval"}


def test_jobs_have_distinct_names_and_share_the_multirun_group(sweep: dict) -> None:
    first, second = sweep["train"]
    assert first.name == (
        "synthetic_quickstart-max_epochs=2-n_train=128-n_val=64-n_test=64-T8")
    assert second.name.endswith("-T16") and first.name != second.name
    assert first.group == second.group == sweep["dir"].name
    assert first.job_type == second.job_type == "train"
    assert [r.config["hydra"]["job_num"] for r in (first, second)] == [0, 1]
    assert first.config["hydra"]["multirun_stamp"] == sweep["dir"].name


def test_metric_definitions_put_epoch_metrics_on_the_epoch_axis(sweep: dict) -> None:
    run = sweep["train"][0]
    for key in ("val/acc", "train/loss", "test/acc", "time/epoch_s", "media/val/raster/input"):
        assert run.metrics[key].step_metric == "epoch", key
    assert run.metrics["train/loss_step"].step_metric == "trainer/global_step"
    assert summary_kinds(run, "val/acc") == summary_kinds(run, "val/acc_ties") == {"max"}
    assert summary_kinds(run, "val/loss") == summary_kinds(run, "train/loss") == {"min"}
    assert summary_kinds(run, "time/epoch_s") == {"mean"}
    assert summary_kinds(run, "test/acc") == set()
    best = max(row["val/acc"] for row in run.history if "val/acc" in row)
    assert run.summary["val/acc"] == {"max": best}
    assert [row["epoch"] for row in run.history if "val/acc" in row] == [0, 1]


def test_media_records(sweep: dict) -> None:
    run = sweep["train"][0]
    for layer in ("input", "layer1", "layer2"):
        assert run.media_type(f"media/val/raster/{layer}") == "image-file"
        assert run.media_type(f"media/test/raster/{layer}") == "image-file"
    assert run.media_type("media/test/confusion_matrix_table") == "table-file"
    assert run.media_type("media/test/metrics") == "table-file"
    for key in ("media/train/firing_rate/layer1", "media/val/firing_rate/layer1",
                "media/test/firing_rate/layer1", "media/test/decision_time"):
        assert run.media_type(key) == "histogram", key
    rows = [row for row in run.history if "media/val/raster/input" in row]
    assert [row["epoch"] for row in rows] == [0, 1]  # every_n_epochs=1


def test_checkpoints_are_artifacts_with_best_and_last_aliases(sweep: dict) -> None:
    run = sweep["train"][0]
    models = [a for a in run.artifacts if a.type == "model"]
    aliases = {alias for a in models for alias in a.aliases}
    assert {"best", "last"} <= aliases
    metrics = json.loads((sweep["dir"] / "0" / "metrics.json").read_text())
    for artifact in models:
        assert artifact.name == f"model-{run.run_id}"
        meta = json.loads(artifact.metadata)
        assert meta["val/acc_best"] == pytest.approx(metrics["val/acc_best"])
        assert [c.path for c in artifact.manifest.contents] == ["model.ckpt"]


def test_logged_config_is_hyperparameters_plus_derived_columns(sweep: dict) -> None:
    config = sweep["train"][1].config
    flat = dict(leaves({k: v for k, v in config.items() if k != "_wandb"}))
    assert not [k for k in flat if "_target_" in k or "_partial_" in k]
    assert not [k for k, v in flat.items() if isinstance(v, str) and v.startswith("/")]
    assert {"callbacks", "logger", "paths", "extras"}.isdisjoint(config)
    assert "default_root_dir" not in config["trainer"] and config["trainer"]["max_epochs"] == 2
    assert config["encoder"]["T"] == 16 and config["data"]["n_train"] == 128
    derived = config["derived"]
    assert derived["T"] == 16 and derived["hidden_width"] == 64
    assert (derived["n_inputs"], derived["n_hidden_layers"], derived["n_classes"]) == (64, 1, 4)
    # 64-64-4, binary: 1 bit per weight, 32 per per-neuron threshold
    assert derived["n_params"] == 64 * 64 + 64 * 4 + 64 + 4
    assert derived["model_bits"] == (64 * 64 + 64 * 4) + 32 * (64 + 4)
    assert "encoder.T=16" in config["hydra"]["overrides"]


def test_eval_joins_the_training_group(sweep: dict) -> None:
    trained, run = sweep["train"][0], sweep["eval"]
    assert run.group == trained.group and run.job_type == "eval"
    assert run.name == f"{trained.name}-eval"
    assert run.config["evaluated"] == {"checkpoint": "last.ckpt", "train_run": trained.name}
    assert run.media_type("media/test/confusion_matrix_table") == "table-file"
    metrics = json.loads((sweep["eval_dir"] / "metrics.json").read_text())
    assert run.summary["test/acc"] == pytest.approx(metrics["test/acc"]) and run.exit_code == 0
