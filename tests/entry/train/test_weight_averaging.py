"""callbacks=ema: checkpoints hold the averaged weights, and the test metrics are theirs."""

from __future__ import annotations

from pathlib import Path

import pytorch_lightning as pl
import torch
from omegaconf import OmegaConf

from bstdg.eval import evaluate
from bstdg.train import train
from bstdg.utils.instantiate import instantiate_callbacks
from helpers.hydra_compose import SYNTHETIC

EMA = ["callbacks=ema", "callbacks.model_summary=null", "callbacks.inference_timer=null",
       "callbacks.weight_averaging.update_every_n_steps=1", "trainer.max_epochs=2"]


def test_checkpoint_and_test_metrics_are_the_average(make_cfg, tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    cfg = make_cfg(*SYNTHETIC, *EMA, out=run_dir)
    (run_dir / ".hydra").mkdir(parents=True)
    (run_dir / ".hydra" / "config.yaml").write_text(OmegaConf.to_yaml(cfg))
    trained, objects = train(cfg)
    ckpt = torch.load(objects["best_ckpt_path"], map_location="cpu", weights_only=False)
    key = "net.layers.0.weight"
    averaged, raw = ckpt["state_dict"][key], ckpt["current_model_state"][key]
    assert not torch.equal(averaged, raw)
    assert averaged.abs().max() <= raw.abs().max()  # an average of clipped steps
    eval_cfg = make_cfg("logger=none", f"ckpt_path={objects['best_ckpt_path']}",
                        config="eval.yaml", out=tmp_path / "eval")
    evaluated, _ = evaluate(eval_cfg)
    for name in ("test/acc", "test/acc_ties", "test/hidden_spikes"):
        assert float(evaluated[name]) == float(trained[name]), name


class _WeightsAtStart(pl.Callback):
    def on_train_start(self, trainer: pl.Trainer, pl_module: pl.LightningModule) -> None:
        self.weight = pl_module.net.layers[0].weight.detach().clone()


def test_resume_continues_from_the_trained_weights(make_cfg, tmp_path: Path,
                                                   monkeypatch) -> None:
    train(make_cfg(*SYNTHETIC, *EMA[:-1], "trainer.max_epochs=1", "test=false",
                   out=tmp_path / "first"))
    last = tmp_path / "first" / "checkpoints" / "last.ckpt"
    saved = torch.load(last, map_location="cpu", weights_only=False)
    probe = _WeightsAtStart()
    monkeypatch.setattr("bstdg.train.instantiate_callbacks",
                        lambda cfg, _orig=instantiate_callbacks: [*_orig(cfg), probe])
    train(make_cfg(*SYNTHETIC, *EMA, f"ckpt_path={last}", "test=false",
                   out=tmp_path / "resumed"))
    key = "net.layers.0.weight"
    assert torch.equal(probe.weight, saved["current_model_state"][key])
    assert not torch.equal(probe.weight, saved["state_dict"][key])
