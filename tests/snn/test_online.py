"""The online SGD kernel (``bstdg.snn.online``) against the platform's batch-1 training.

The reference is what ``SpikingClassifier`` does today with ``data.batch_size=1``: the
baseline experiments composed by Hydra, fitted by a Lightning Trainer one sample per step.
A copy of the same module is trained by ``online_sgd_steps`` on the same samples; every
step's spike times must be equal and the final weights (and BS4NN's ``fact``) equal to
float rounding, over 1000 steps.
"""

from __future__ import annotations

import copy

import hydra
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader, TensorDataset

from bstdg.lit.module import SpikingClassifier
from bstdg.lit.policies import DeadNeuronRevival
from bstdg.snn.backends.numba.online import torch_norm32
from bstdg.snn.online import check_online, online_sgd_steps

N_IN, HIDDEN, N_CLASSES = 196, 64, 10
# hidden init that leaves some neurons silent, per baseline (as test_baseline_steps)
MIXED = {"bs4nn": "[[-1.5,3.5],[-12,48]]", "s4nn": "[[-3,5],[-10,48]]"}
REVIVAL_SEED = 1234


def _module(cfg: DictConfig) -> SpikingClassifier:
    return hydra.utils.instantiate(
        cfg.model, encoder=hydra.utils.instantiate(cfg.encoder),
        loss=hydra.utils.instantiate(cfg.loss), n_inputs=N_IN, n_classes=N_CLASSES,
    )


def _data(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """uint8 'images' of 10 noisy class prototypes (about half black), labels in order."""
    rng = np.random.default_rng(seed)
    protos = rng.integers(1, 256, (N_CLASSES, N_IN))
    protos[rng.random(protos.shape) < 0.5] = 0
    y = rng.integers(0, N_CLASSES, n)
    x = protos[y]
    noise = rng.random(x.shape) < 0.2
    x[noise] = rng.integers(0, 256, int(noise.sum()))
    return x.astype(np.uint8), y.astype(np.int64)


class _Reseed(pl.Callback):
    """Seed torch at each epoch end, before the revival draws (the DataLoader's iterator
    also draws from torch's generator, which the online loop has no use for)."""

    def on_train_epoch_end(self, trainer: pl.Trainer, pl_module: object) -> None:
        torch.manual_seed(REVIVAL_SEED)


def _fit_batch1(module: SpikingClassifier, x: np.ndarray, y: np.ndarray, epochs: int,
                callbacks: list[pl.Callback]) -> list[list[np.ndarray]]:
    """The platform's batch-1 training; the spike times of every training forward."""
    seen: list[list[np.ndarray]] = []
    hook = module.net.register_forward_hook(
        lambda _m, _i, out: seen.append([t.detach().numpy().copy() for t in out.times]))
    trainer = pl.Trainer(
        max_epochs=epochs, accelerator="cpu", devices=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0, limit_val_batches=0, log_every_n_steps=1000,
        callbacks=callbacks,
    )
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    trainer.fit(module, train_dataloaders=DataLoader(data, batch_size=1, shuffle=False))
    hook.remove()
    return seen


def _fit_online(module: SpikingClassifier, cfg: DictConfig, x: np.ndarray, y: np.ndarray,
                epochs: int, chunk: int, min_rate: float | None) -> list[list[np.ndarray]]:
    """The same training by ``online_sgd_steps`` in calls of ``chunk`` samples, with the
    dead-neuron revival at each epoch end as the callback does it."""
    opt = cfg.model.optimizer
    t_all = module.encoder(torch.from_numpy(x))
    labels = torch.from_numpy(y)
    seen: list[list[np.ndarray]] = []
    for _ in range(epochs):
        fired = torch.zeros(HIDDEN)
        for lo in range(0, len(x), chunk):
            rec = online_sgd_steps(module.net, t_all[lo:lo + chunk], labels[lo:lo + chunk],
                                   module.loss_fn, opt.lr, opt.weight_decay)
            fired += (rec.times[0] < module.T).sum(0)
            seen.extend([[t[b].numpy().copy()[None] for t in rec.times]
                         for b in range(rec.loss.shape[0])])
        if min_rate is not None:
            torch.manual_seed(REVIVAL_SEED)
            module.net.layers[0].reinit_neurons_(fired < min_rate * len(x))
    return seen


def _compare(ref: SpikingClassifier, got: SpikingClassifier, seen_ref: list, seen_got: list,
             steps: int) -> None:
    assert len(seen_ref) == len(seen_got) == steps
    for step, (a, b) in enumerate(zip(seen_ref, seen_got, strict=True)):
        for layer, (ta, tb) in enumerate(zip(a, b, strict=True)):
            assert np.array_equal(ta, tb), (step, layer)
    for la, lb in zip(ref.net.layers, got.net.layers, strict=True):
        np.testing.assert_allclose(lb.weight.detach().numpy(), la.weight.detach().numpy(),
                                   rtol=1e-6, atol=1e-6)
        np.testing.assert_allclose(lb.threshold.numpy(), la.threshold.numpy(), rtol=1e-6)
        if la.threshold_mode == "bs4nn_fact":
            assert lb.fact.item() == pytest.approx(la.fact.item(), rel=1e-9, abs=1e-12)


def _pair(compose_cfg, name: str, *extra: str, dead: int = 0) -> tuple:
    """(config, module, its copy), the module on the automatic batch-1 path; the first
    ``dead`` hidden neurons get negative incoming weights, so that they never fire."""
    cfg = compose_cfg(f"experiment=mnist_{name}", f"model.net.hidden=[{HIDDEN}]",
                      f"model.net.init_range={MIXED[name]}", "model.online=false", *extra)
    torch.manual_seed(0)
    ref = _module(cfg)
    with torch.no_grad():
        ref.net.layers[0].weight[:dead] = -1.0
    return cfg, ref, copy.deepcopy(ref)


def test_bs4nn_online_equals_1000_batch1_steps(compose_cfg) -> None:
    """BS4NN: +-1 weights, theta = 100 / fact with the fact rule, lookahead error."""
    cfg, ref, got = _pair(compose_cfg, "bs4nn")
    x, y = _data(1000, 1)
    seen_ref = _fit_batch1(ref, x, y, 1, [])
    seen_got = _fit_online(got, cfg, x, y, 1, 64, None)
    _compare(ref, got, seen_ref, seen_got, 1000)
    assert [layer.fact.item() for layer in got.net.layers] != [5.0, 5.0]
    hidden = np.stack([s[0][0] for s in seen_got])
    assert (hidden == got.T).any() and (hidden < got.T).any()


def test_s4nn_online_equals_1000_batch1_steps_with_revival(compose_cfg) -> None:
    """S4NN: real weights, weight decay, lookahead error, and the dead-neuron revival at
    each epoch end (outside the kernel): 2 epochs of 500 samples."""
    cfg, ref, got = _pair(compose_cfg, "s4nn", dead=4)
    assert cfg.model.optimizer.weight_decay > 0
    min_rate = cfg.callbacks.dead_neuron_revival.min_rate
    x, y = _data(500, 2)
    seen_ref = _fit_batch1(ref, x, y, 2, [_Reseed(), DeadNeuronRevival(min_rate)])
    before = [layer.weight.detach().clone() for layer in got.net.layers]
    seen_got = _fit_online(got, cfg, x, y, 2, 100, min_rate)
    _compare(ref, got, seen_ref, seen_got, 1000)
    fired = [(np.stack([s[0][0] for s in seen_got[e * 500:(e + 1) * 500]]) < got.T).sum(0)
             for e in range(2)]
    assert (fired[0][:4] == 0).all()  # dead in the first epoch, re-drawn at its end
    assert (fired[1][:4] > 0).any()
    assert not torch.equal(before[0][:4], got.net.layers[0].weight[:4])


@pytest.mark.parametrize(("name", "option"), [
    ("bs4nn", "model.net.latent_clip=[1.0,8.0]"),  # clipped after the fact rule
    ("bs4nn", "model.net.rule.kernel=exp"),
    ("s4nn", "model.net.rule.backprop_lookahead=0"),  # error through W before its step
])
def test_rule_options_equal_300_batch1_steps(compose_cfg, name: str, option: str) -> None:
    cfg, ref, got = _pair(compose_cfg, name, option)
    x, y = _data(300, 3)
    seen_ref = _fit_batch1(ref, x, y, 1, [])
    seen_got = _fit_online(got, cfg, x, y, 1, 128, None)
    _compare(ref, got, seen_ref, seen_got, 300)
    if "latent_clip" in option:
        assert got.net.layers[0].weight.abs().max() <= 1.0


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 8, 10, 12, 15, 16, 17, 31, 64, 400, 600])
def test_norm_sums_as_torch_does(n: int) -> None:
    """The kernel's float32 norm is torch's CPU norm of a last dimension, bit for bit (its
    vectorised build; a CPU without AVX2 runs another summation order)."""
    if torch.backends.cpu.get_cpu_capability() not in ("AVX2", "AVX512"):
        pytest.skip("torch's scalar CPU build sums the norm in another order")
    rng = np.random.default_rng(n)
    for scale in (1e-3, 1.0, 1e3):
        x = (rng.standard_normal((50, n)) * scale).astype(np.float32)
        x[rng.random(x.shape) < 0.3] = 0
        want = torch.from_numpy(x).norm(dim=1).numpy()
        got = np.array([torch_norm32(row) for row in x], np.float32)
        assert np.array_equal(got, want)


def test_unsupported_nets_are_refused(compose_cfg) -> None:
    cfg = compose_cfg("experiment=mnist_bstdg", "model.net.hidden=[8]")
    module = _module(cfg)
    with pytest.raises(ValueError, match="online SGD kernel cannot run"):
        check_online(module.net, module.loss_fn)
