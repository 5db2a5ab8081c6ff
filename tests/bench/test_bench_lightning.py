"""bstdg-bench --lightning: the Lightning loop and the bare step train the same model."""

from __future__ import annotations

import json
import statistics

import torch

from bstdg.bench import main
from bstdg.bench.data import load_inputs
from bstdg.bench.lightning import BareStep, compose_experiment
from bstdg.utils.checkpoint import build_model


def test_only_lightning_writes_the_ratio_from_its_measurements(tmp_path, capsys) -> None:
    out = tmp_path / "bench.json"
    rc = main(["--quick", "--synthetic", "--threads", "1", "--repeats", "2",
               "--only-lightning", "--lightning-batches", "3", "--out", str(out)])
    assert rc == 0
    assert "training loop, experiment=mnist_bstdg" in capsys.readouterr().out
    report = json.loads(out.read_text())
    loop = report["lightning_loop"]
    lightning = loop["lightning_train_samples_per_s"]["values"]
    bare = loop["bare_step_train_samples_per_s"]["values"]
    assert len(lightning) == len(bare) == 2 and min(lightning + bare) > 0
    ratio = statistics.median(lightning) / statistics.median(bare)
    assert report["lightning_vs_kernel_train_ratio"] == ratio
    assert loop["per_repeat_ratios"] == [a / b for a, b in zip(lightning, bare, strict=True)]
    assert report["targets"]["lightning_vs_kernel_train_ratio"]["value"] == ratio
    assert report["results"] == {} and report["peak_memory"] == {}


def test_bare_step_trains_with_the_experiments_optimiser_and_schedule(tmp_path) -> None:
    cfg = compose_experiment("mnist_bstdg", ["data.batch_size=8"], str(tmp_path))
    x, y, _ = load_inputs(16, synthetic=True)
    model = build_model(cfg, 784, 10)
    step = BareStep(model, total_steps=4)
    assert isinstance(step.optimizer, torch.optim.Adam)
    assert step.optimizer.param_groups[0]["lr"] == cfg.model.optimizer.lr
    before = model.net.layers[0].weight.detach().clone()
    step(torch.from_numpy(x[:8]), torch.from_numpy(y[:8]))
    assert not torch.equal(before, model.net.layers[0].weight)
    assert step.optimizer.param_groups[0]["lr"] < cfg.model.optimizer.lr  # cosine over 4 steps
