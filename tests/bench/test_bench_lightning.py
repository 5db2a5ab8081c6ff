"""bstdg-bench --lightning: the Lightning loop and the bare step train the same model."""

from __future__ import annotations

import json
import statistics

import pytest
import torch

from bstdg.bench import main
from bstdg.bench.data import load_inputs
from bstdg.bench.lightning import BareStep, compose_experiment
from bstdg.loading import build_model


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


def _bare_step(tmp_path):
    """(config, 16 synthetic images and labels, model, its bare step over 4 steps of 8)."""
    cfg = compose_experiment("mnist_bstdg", ["data.batch_size=8"], str(tmp_path))
    x, y, _ = load_inputs(16, synthetic=True)
    model = build_model(cfg, 784, 10)
    return cfg, torch.from_numpy(x), torch.from_numpy(y), model, BareStep(model, total_steps=4)


def test_bare_step_trains_with_the_experiments_optimiser_and_schedule(tmp_path) -> None:
    cfg, x, y, model, step = _bare_step(tmp_path)
    assert isinstance(step.optimizer, torch.optim.Adam)
    assert step.optimizer.param_groups[0]["lr"] == cfg.model.optimizer.lr
    before = model.net.layers[0].weight.detach().clone()
    step(x[:8], y[:8])
    assert not torch.equal(before, model.net.layers[0].weight)
    assert step.optimizer.param_groups[0]["lr"] < cfg.model.optimizer.lr  # cosine over 4 steps


def _training_checkpoint(tmp_path, with_optimizer: bool = True):
    _, x, y, model, step = _bare_step(tmp_path)
    for k in (0, 8):
        step(x[k:k + 8], y[k:k + 8])
    path = tmp_path / "last.ckpt"
    state = {"state_dict": model.state_dict()}
    if with_optimizer:
        state["optimizer_states"] = [step.optimizer.state_dict()]
    torch.save(state, path)
    return path, model


def test_lightning_from_starts_both_sides_from_the_checkpoint(tmp_path, monkeypatch) -> None:
    from bstdg.bench import lightning

    path, trained = _training_checkpoint(tmp_path)
    seen = {}

    def spy(self, x, y):  # the bare step's first call: weights and Adam steps so far
        seen.setdefault("weight", self.model.net.layers[0].weight.detach().clone())
        seen.setdefault("step", [float(s["step"]) for s in self.optimizer.state.values()])
        return original(self, x, y)

    def loaded(self, trainer, pl_module):  # the Lightning optimiser once training starts
        load(self, trainer, pl_module)
        seen["lightning_step"] = [float(s["step"]) for s in trainer.optimizers[0].state.values()]
        seen["lightning_weight"] = pl_module.net.layers[0].weight.detach().clone()

    original = BareStep.__call__
    load = lightning._OptimizerStateFrom.on_train_start
    monkeypatch.setattr(BareStep, "__call__", spy)
    monkeypatch.setattr(lightning._OptimizerStateFrom, "on_train_start", loaded)
    x, y, _ = load_inputs(64, synthetic=True)
    loop = lightning.measure_loop(x, y, batch=32, n_batches=2, repeats=1, start_from=str(path),
                                  overrides=["callbacks.flush_denormals=null"])
    assert loop["start_from"] == str(path)
    assert loop["overrides"] == ["callbacks.flush_denormals=null"]
    assert torch.equal(seen["weight"], trained.net.layers[0].weight.detach())
    assert seen["step"] == seen["lightning_step"] == [2.0] * 4
    assert torch.equal(seen["lightning_weight"], trained.net.layers[0].weight.detach())


def test_lightning_from_needs_an_optimiser_state(tmp_path) -> None:
    from bstdg.bench.lightning import measure_loop

    path, _ = _training_checkpoint(tmp_path, with_optimizer=False)
    x, y, _ = load_inputs(64, synthetic=True)
    with pytest.raises(ValueError, match="no optimiser state"):
        measure_loop(x, y, batch=32, n_batches=2, repeats=1, start_from=str(path))


def test_lightning_options_without_lightning_are_refused(capsys) -> None:
    with pytest.raises(SystemExit):
        main(["--quick", "--synthetic", "--lightning-override", "seed=2"])
    assert "add --lightning" in capsys.readouterr().err
