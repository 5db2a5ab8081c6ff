"""In-process train/eval runs on synthetic and fake-format data."""

from __future__ import annotations

import json
from pathlib import Path

import hydra
import pytest
import pytorch_lightning
import torch

from bstdg.eval import evaluate
from bstdg.lit.module import run_length_arg
from bstdg.train import train
from bstdg.utils.task import run_task
from helpers.hydra_compose import SYNTHETIC

DESIGN_METRICS = [
    f"{stage}/{name}" for stage in ("train", "val", "test")
    for name in ("acc", "acc_ties", "loss", "hidden_spikes", "hidden_spikes_before_decision",
                 "spikes/layer1", "spikes/layer2", "decision_time", "no_output_spike_frac",
                 "synops", "hidden_dead_frac", "hidden_saturated_frac")
] + ["val/acc_best", "time/infer_us_per_sample", "time/infer_early_exit_us_per_sample",
      "time/train_samples_per_s", "time/epoch_s"]


def _metrics(path: Path) -> dict:
    return json.loads((path / "metrics.json").read_text())


def test_metrics_json_has_every_design_metric(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=1")
    run_task(train, cfg)
    metrics = _metrics(tmp_path)
    missing = [name for name in DESIGN_METRICS if name not in metrics]
    assert not missing, missing
    assert metrics["seed"] == 7 and metrics["device"] == "cpu" and metrics["threads"] >= 1
    assert metrics["version/torch"] == torch.__version__
    assert metrics["version/pytorch_lightning"] == pytorch_lightning.__version__
    assert metrics["version/hydra"] == hydra.__version__
    assert metrics["version/bstdg"] and (metrics["git_commit"] is None
                                         or len(metrics["git_commit"]) >= 7)
    assert metrics["status"] == "finished" and metrics["experiment"] == "synthetic_quickstart"
    assert (tmp_path / "checkpoints" / "last.ckpt").is_file()


def test_training_beats_chance(make_cfg, tmp_path: Path) -> None:
    metrics, _ = train(make_cfg(*SYNTHETIC, "trainer.max_epochs=3"))
    assert float(metrics["test/acc"]) > 0.5  # 4 classes: chance is 0.25


def test_cosine_schedule_spans_the_whole_run(make_cfg, tmp_path: Path) -> None:
    _, objects = train(make_cfg(*SYNTHETIC, "trainer.max_epochs=2", "test=false"))
    trainer = objects["trainer"]
    (config,) = trainer.lr_scheduler_configs
    assert config.interval == "step"
    assert config.scheduler.T_max == trainer.estimated_stepping_batches == trainer.global_step
    lr0 = trainer.optimizers[0].defaults["lr"]
    assert trainer.optimizers[0].param_groups[0]["lr"] < 1e-3 * lr0


def test_polynomial_schedule_spans_the_whole_run(make_cfg, tmp_path: Path) -> None:
    # PolynomialLR's total_iters is filled like T_max: lr reaches 0 at the last step
    _, objects = train(make_cfg(*SYNTHETIC, "trainer.max_epochs=2", "test=false",
                                "model.scheduler._target_=torch.optim.lr_scheduler.PolynomialLR",
                                "+model.scheduler.power=2.0"))
    trainer = objects["trainer"]
    (config,) = trainer.lr_scheduler_configs
    assert config.scheduler.total_iters == trainer.estimated_stepping_batches
    assert trainer.global_step == trainer.estimated_stepping_batches
    assert trainer.optimizers[0].param_groups[0]["lr"] == 0.0


def test_only_schedules_that_end_with_the_run_get_its_length() -> None:
    sched = torch.optim.lr_scheduler
    assert run_length_arg(sched.CosineAnnealingLR) == "T_max"
    assert run_length_arg(sched.PolynomialLR) == "total_iters"
    # warm-up / hold lengths keep torch's default of 5 steps
    for cls in (sched.LinearLR, sched.ConstantLR, sched.StepLR, sched.ExponentialLR):
        assert run_length_arg(cls) is None, cls.__name__


def test_a_warm_up_keeps_its_own_length(make_cfg, tmp_path: Path) -> None:
    _, objects = train(make_cfg(*SYNTHETIC, "trainer.max_epochs=1", "test=false",
                                "model.scheduler._target_=torch.optim.lr_scheduler.LinearLR"))
    (config,) = objects["trainer"].lr_scheduler_configs
    assert config.scheduler.total_iters == 5


def test_unbounded_run_with_a_run_long_schedule_is_refused(make_cfg) -> None:
    with pytest.raises(ValueError, match="no bounded length.*model.scheduler.T_max"):
        train(make_cfg(*SYNTHETIC, "trainer.max_epochs=-1"))
    with pytest.raises(ValueError, match="no bounded length.*model.scheduler.total_iters"):
        train(make_cfg(*SYNTHETIC, "trainer.max_epochs=-1",
                       "model.scheduler._target_=torch.optim.lr_scheduler.PolynomialLR"))


def test_same_seed_same_metrics(make_cfg, tmp_path: Path) -> None:
    runs = []
    for k in range(2):
        cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=1", "callbacks.inference_timer=null",
                       "callbacks.throughput=null", out=tmp_path / str(k))
        metrics, _ = train(cfg)
        runs.append({k: float(v) for k, v in metrics.items()})
    assert runs[0] == runs[1]


def test_resume_matches_uninterrupted_run(make_cfg, tmp_path: Path) -> None:
    # The cosine schedule's length is fixed, so that the 1-epoch run is the first half of
    # the 2-epoch one (by default T_max is the run's own length).
    timing = ["callbacks.inference_timer=null", "callbacks.throughput=null",
              "+model.scheduler.T_max=40"]
    full, _ = train(make_cfg(*SYNTHETIC, *timing, "trainer.max_epochs=2", out=tmp_path / "full"))
    train(make_cfg(*SYNTHETIC, *timing, "trainer.max_epochs=1", "test=false",
                   out=tmp_path / "first"))
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    resumed, objects = train(make_cfg(*SYNTHETIC, *timing, "trainer.max_epochs=2",
                                      f"ckpt_path={last}", out=tmp_path / "resumed"))
    assert objects["trainer"].current_epoch == 2
    for key in ("test/acc", "test/loss", "val/acc", "val/acc_best", "test/hidden_spikes"):
        assert float(resumed[key]) == float(full[key]), key


def test_eval_reproduces_test_metrics(make_cfg, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cfg = make_cfg(*SYNTHETIC, "trainer.max_epochs=1", out=run_dir)
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text(
        __import__("omegaconf").OmegaConf.to_yaml(cfg))
    trained, objects = train(cfg)
    ckpt = objects["best_ckpt_path"]
    eval_cfg = make_cfg("logger=none", f"ckpt_path={ckpt}", config="eval.yaml",
                        out=tmp_path / "eval")
    evaluated, _ = evaluate(eval_cfg)
    for key in [k for k in trained if k.startswith("test/")]:
        assert float(evaluated[key]) == float(trained[key]), key


def test_missing_checkpoint_is_a_clear_error(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg("logger=none", f"ckpt_path={tmp_path}/nope.ckpt", config="eval.yaml")
    with pytest.raises(FileNotFoundError, match="checkpoint not found"):
        evaluate(cfg)


def test_failed_job_still_writes_metrics(make_cfg, tmp_path: Path) -> None:
    cfg = make_cfg(*SYNTHETIC, "model.fallback=sideways")
    with pytest.raises(Exception, match="unknown fallback"):
        run_task(train, cfg)
    metrics = _metrics(tmp_path)
    assert metrics["status"] == "failed" and "unknown fallback" in metrics["error"]
