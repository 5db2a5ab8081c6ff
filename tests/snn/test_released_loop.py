"""sweeps/released_loop.py: each baseline's released loop and the platform's, on fake MNIST
files, give the same validation curves and test accuracies (run records bstdg-report reads)."""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import hydra
import numpy as np
import pytest
import torch

from bstdg.report.runs import load_runs, usable_runs

SCRIPT = Path(__file__).resolve().parents[2] / "sweeps" / "released_loop.py"


@pytest.fixture(scope="module")
def script() -> dict:
    return runpy.run_path(str(SCRIPT))


# (samples, eval every): 100 training images (120 less 20 for validation), so S4NN and SSTDP
# cross an epoch end, where both loops revive their dead hidden neurons
RUNS = {"bs4nn": (96, 48), "s4nn": (150, 50), "sstdp": (128, 64)}


@pytest.mark.parametrize("baseline", sorted(RUNS))
def test_both_loops_give_the_same_curve(script: dict, mnist_root: Path, tmp_path: Path,
                                        baseline: str) -> None:
    samples, every = RUNS[baseline]
    written = script["main"](["--baseline", baseline, "--out", str(tmp_path / "out"),
                              "--seed", "3", "--samples", str(samples), "--eval-every",
                              str(every), "--data-dir", str(mnist_root), "data.val_size=20"])
    platform, released = (json.loads(p.read_text()) for p in written)
    assert platform["experiment"] == f"released_loop_{baseline}_platform"
    assert released["experiment"] == f"released_loop_{baseline}_released"
    assert platform["curve/samples"] == list(range(every, samples + 1, every))
    assert platform["cfg/samples"] == samples
    for key in ("curve/val_acc", "curve/val_acc_ties", "test/acc", "test/acc_ties"):
        assert platform[key] == released[key], key
    assert len(usable_runs(load_runs(tmp_path / "out"))) == 2


def test_epoch_orders_follow_the_presets_sampler(script: dict) -> None:
    orders = script["epoch_orders"]("sequential", 10, 1, 25, batch=4)
    assert [len(o) for o in orders] == [8, 8, 8, 1]
    assert (orders[0] == np.arange(8)).all()
    perm = script["epoch_orders"]("permutation", 10, 1, 20)
    assert sorted(perm[0]) == list(range(10)) and not (perm[0] == perm[1]).all()


@pytest.mark.parametrize("args", [
    ["--baseline", "sstdp", "--samples", "128", "--eval-every", "50"],  # not whole batches
    ["--baseline", "s4nn", "--samples", "0"],
    ["--baseline", "s4nn", "--samples", "50", "data.val_size=20",
     "callbacks.dead_neuron_revival.mode=full"],
])
def test_bad_arguments_stop_with_a_message(script: dict, mnist_root: Path, tmp_path: Path,
                                           args: list[str]) -> None:
    with pytest.raises(SystemExit):
        script["main"](["--out", str(tmp_path), "--data-dir", str(mnist_root), *args])


@pytest.mark.parametrize("baseline", ["s4nn", "sstdp"])
def test_both_loops_revive_the_same_neurons_with_the_same_draws(
        script: dict, compose_cfg, baseline: str) -> None:
    cfg = compose_cfg(f"experiment=mnist_{baseline}", "model.net.hidden=[6]")
    module = hydra.utils.instantiate(
        cfg.model, encoder=hydra.utils.instantiate(cfg.encoder),
        loss=hydra.utils.instantiate(cfg.loss), n_inputs=20, n_classes=3)
    loops = script["Loops"].start(baseline, cfg, module)
    before = module.net.layers[0].weight.detach().clone()
    counts = torch.tensor([0, 50, 0, 50, 50, 50])  # neurons 0 and 2 fired on no sample
    loops.revive({"platform": counts, "released": counts.clone()}, 50, seed=7)
    after = module.net.layers[0].weight.detach()
    changed = (after != before).any(1)
    assert changed.tolist() == [True, False, True, False, False, False]
    released = loops.released_module().net.layers[0].weight.detach()
    torch.testing.assert_close(released, after)
