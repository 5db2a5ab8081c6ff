"""callbacks=ema: checkpoints hold the averaged weights, and the test metrics are theirs."""

from __future__ import annotations

from pathlib import Path

import torch
from omegaconf import OmegaConf

from bstdg.eval import evaluate
from bstdg.train import train
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
