"""Per-layer options: a learning-rate factor per layer (optimiser parameter groups) and a
latent clip per layer."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from bstdg.lit.module import SpikingClassifier
from bstdg.snn import SpikingNet
from bstdg.train import train
from helpers.hydra_compose import SYNTHETIC


def test_each_layer_trains_at_its_own_rate(make_cfg, tmp_path: Path) -> None:
    _, objects = train(make_cfg(*SYNTHETIC, "trainer.max_epochs=1", "test=false",
                                "model.layer_lr_scale=[0.5,4.0]"))
    model, trainer = objects["model"], objects["trainer"]
    optimizer = trainer.optimizers[0]
    layers = model.net.layers
    assert [len(g["params"]) for g in optimizer.param_groups] == [2, 2]
    for group, layer in zip(optimizer.param_groups, layers, strict=True):
        assert {id(p) for p in group["params"]} == {id(p) for p in layer.parameters()}
    lr = optimizer.defaults["lr"]
    assert [g["initial_lr"] for g in optimizer.param_groups] == pytest.approx([0.5 * lr, 4 * lr])
    assert all(g["lr"] == 0.0 for g in optimizer.param_groups)  # the cosine decays both
    # the factors are stored as plain values: a weights-only checkpoint load rebuilds them
    loaded = SpikingClassifier.load_from_checkpoint(tmp_path / "checkpoints" / "last.ckpt")
    assert loaded.layer_lr_scale == [0.5, 4.0]
    assert [g["lr"] for g in loaded.optimizer_and_scheduler(lambda: 10)[0].param_groups] == \
        pytest.approx([0.5 * lr, 4 * lr])


def test_layer_rates_without_a_scheduler(make_cfg, tmp_path: Path) -> None:
    _, objects = train(make_cfg(*SYNTHETIC, "trainer.max_epochs=1", "test=false",
                                "model.scheduler=null", "model.layer_lr_scale=[2.0,0.25]"))
    optimizer = objects["trainer"].optimizers[0]
    lr = optimizer.defaults["lr"]
    assert [g["lr"] for g in optimizer.param_groups] == pytest.approx([2 * lr, 0.25 * lr])


def test_one_group_without_layer_factors(make_cfg, tmp_path: Path) -> None:
    _, objects = train(make_cfg(*SYNTHETIC, "trainer.max_epochs=1", "test=false"))
    (group,) = objects["trainer"].optimizers[0].param_groups
    assert len(group["params"]) == 4


@pytest.mark.parametrize("value", ["[1.0]", "[1.0,0.0]", "[1.0,-2.0]", "[1.0,2.0,3.0]"])
def test_layer_factors_must_match_the_layers(make_cfg, value: str) -> None:
    with pytest.raises(ValueError,  # ConfigValueError from the start-up checks is one too
                       match="layer_lr_scale.*one finite factor > 0 per layer"):
        train(make_cfg(*SYNTHETIC, "trainer.max_epochs=1", f"model.layer_lr_scale={value}"))


def test_layer_factors_need_an_optimiser_rate(make_cfg) -> None:
    with pytest.raises(ValueError, match="model.optimizer sets no lr"):
        train(make_cfg(*SYNTHETIC, "trainer.max_epochs=1", "model.layer_lr_scale=[1.0,2.0]",
                       "~model.optimizer.lr"))


def test_latent_clip_per_layer() -> None:
    torch.manual_seed(0)
    net = SpikingNet(5, 3, T=8, hidden=[4], init_range=[[-9.0, 9.0], [-9.0, 9.0]],
                     latent_clip=[1.0, None])
    net.layers[1].weight.data[0, 0] = 50.0
    for layer in net.layers:
        layer.constrain_()
    assert net.layers[0].weight.abs().max() == 1.0
    assert net.layers[1].weight.abs().max() == 50.0
    with pytest.raises(ValueError, match="latent_clip needs one entry per layer"):
        SpikingNet(5, 3, T=8, hidden=[4], latent_clip=[1.0])
    with pytest.raises(ValueError, match="latent_clip must be > 0"):
        SpikingNet(5, 3, T=8, hidden=[4], latent_clip=[1.0, -1.0])
