"""Each baseline config (``model=<baseline>`` with its experiment) against the released code.

The platform's own training steps (the SpikingClassifier composed from Hydra, fitted by a
Lightning Trainer) are compared with the literal numpy transcriptions of the released
updates in ``tests/helpers/released_updates.py``: same initial weights, same inputs; spike
times equal, weights and BS4NN's fact equal within float tolerance. S4NN and BS4NN run their
batch-1 automatic path here (``model.online=false``), whose forwards a hook can see; the online
path the presets use equals it step for step (``tests/snn/test_online.py``).
"""

from __future__ import annotations

import hydra
import numpy as np
import pytest
import pytorch_lightning as pl
import torch
from omegaconf import DictConfig, OmegaConf
from torch.utils.data import DataLoader, TensorDataset

from bstdg.data.sampler import EpochSeededReplacementSampler, training_sampler
from bstdg.lit.module import SpikingClassifier
from bstdg.snn.readout import decide
from helpers import released_updates as R

# hidden init that leaves some neurons silent (exercises the t_i < T masks), per baseline
MIXED = {"bs4nn": "[[-1.5,3.5],[-12,48]]", "s4nn": "[[-3,5],[-10,48]]",
         "sstdp": "[[-3,5],[-10,48]]"}


def _module(cfg: DictConfig, n_inputs: int, n_classes: int) -> SpikingClassifier:
    return hydra.utils.instantiate(
        cfg.model, encoder=hydra.utils.instantiate(cfg.encoder),
        loss=hydra.utils.instantiate(cfg.loss), n_inputs=n_inputs, n_classes=n_classes,
    )


def _baseline(compose_cfg, name: str, hidden: int, init: str, *extra: str):
    overrides = [f"experiment=mnist_{name}", f"model.net.hidden=[{hidden}]", *extra]
    if name != "sstdp":
        overrides.append("model.online=false")
    if init == "mixed":
        overrides.append(f"model.net.init_range={MIXED[name]}")
    return compose_cfg(*overrides)


def _fit(module: SpikingClassifier, x: np.ndarray, y: np.ndarray, batch: int) -> list:
    """Train ``len(x) / batch`` steps in order; the spike times of every training forward."""
    seen: list[list[np.ndarray]] = []
    hook = module.net.register_forward_hook(
        lambda _m, _i, out: seen.append([t.detach().numpy().copy() for t in out.times])
    )
    trainer = pl.Trainer(
        max_steps=len(x) // batch, accelerator="cpu", devices=1, logger=False,
        enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
        num_sanity_val_steps=0, limit_val_batches=0, log_every_n_steps=1,
    )
    data = TensorDataset(torch.from_numpy(x), torch.from_numpy(y))
    trainer.fit(module, train_dataloaders=DataLoader(data, batch_size=batch, shuffle=False))
    hook.remove()
    return seen


def _images(n: int, d: int, seed: int) -> np.ndarray:
    """uint8 'images': about half black, some saturated."""
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 256, (n, d))
    x[rng.random((n, d)) < 0.5] = 0
    x[rng.random((n, d)) < 0.1] = 255
    return x.astype(np.uint8)


def _weights(module: SpikingClassifier, dtype=np.float64) -> list[np.ndarray]:
    return [layer.weight.detach().numpy().astype(dtype) for layer in module.net.layers]


def _close(got: np.ndarray, want: np.ndarray) -> None:
    """float32 parameters against the released float64 (or float32) arithmetic."""
    np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("init", ["released", "mixed"])
def test_bs4nn_steps_match_the_notebook(compose_cfg, init: str) -> None:
    torch.manual_seed(0)
    n_in, n_classes, steps = 100, 4, 5
    module = _module(_baseline(compose_cfg, "bs4nn", 64, init), n_in, n_classes)
    x, y = _images(steps, n_in, 1), np.arange(steps) % n_classes
    w0, w1 = _weights(module)
    ref = R.BS4NNState(W0=w0[:, :, None].copy(), W1=w1[:, :, None].copy(), fact=[5.0, 5.0])
    t_in = R.bs4nn_encode(x)
    assert np.array_equal(module.encoder(torch.from_numpy(x)).numpy(), t_in)
    assert (t_in[x == 0] == 255).all()  # black pixels spike at T - 1

    seen = _fit(module, x, y, 1)
    errors = 0.0
    for step in range(steps):
        want = R.bs4nn_train_sample(ref, t_in[step], int(y[step]))
        assert np.array_equal(seen[step][0][0], want["hidden"]), step
        assert np.array_equal(seen[step][1][0], want["out"]), step
        errors += np.abs(want["delta_out"]).sum()
    assert errors > 0  # some step learned something
    hidden, out = module.net.layers
    _close(hidden.weight.detach().numpy(), ref.W0[:, :, 0])
    _close(out.weight.detach().numpy(), ref.W1[:, :, 0])
    for layer, fact in zip(module.net.layers, ref.fact, strict=True):
        assert layer.fact.item() == pytest.approx(fact, rel=1e-9, abs=1e-10)
        assert layer.threshold.item() == pytest.approx(100.0 / fact, rel=1e-6)
    assert [layer.fact.item() for layer in module.net.layers] != [5.0, 5.0]
    assert not any(p.requires_grad and p is layer.fact for layer in module.net.layers
                   for p in module.parameters())  # fact is no optimiser parameter


def test_bs4nn_without_lookahead_computes_the_hidden_error_before_the_w1_step(
    compose_cfg,
) -> None:
    """The one knowing difference the platform can switch off: without
    ``backprop_lookahead`` the hidden error goes through W1 *before* its update, and the
    first-layer update then differs from the notebook's (slightly)."""
    torch.manual_seed(0)
    module = _module(_baseline(compose_cfg, "bs4nn", 64, "mixed",
                               "model.net.rule.backprop_lookahead=0"), 100, 4)
    x, y = _images(5, 100, 1), np.arange(5) % 4
    w0, w1 = _weights(module)
    ref = R.BS4NNState(W0=w0[:, :, None].copy(), W1=w1[:, :, None].copy(), fact=[5.0, 5.0])
    _fit(module, x, y, 1)
    for step in range(5):
        R.bs4nn_train_sample(ref, R.bs4nn_encode(x)[step], int(y[step]))
    _close(module.net.layers[1].weight.detach().numpy(), ref.W1[:, :, 0])
    diff = np.abs(module.net.layers[0].weight.detach().numpy() - ref.W0[:, :, 0]).max()
    assert 1e-5 < diff < 1e-2


@pytest.mark.parametrize("init", ["released", "mixed"])
def test_s4nn_steps_match_the_released_script(compose_cfg, init: str) -> None:
    torch.manual_seed(0)
    n_in, n_classes, steps = 200, 4, 4
    module = _module(_baseline(compose_cfg, "s4nn", 12, init), n_in, n_classes)
    x, y = _images(steps, n_in, 2), np.arange(steps) % n_classes
    ref = R.S4NNState(W=[w[:, :, None].copy() for w in _weights(module)])
    t_in = R.s4nn_encode(x)
    assert np.array_equal(module.encoder(torch.from_numpy(x)).numpy(), t_in)
    assert (t_in[x == 0] == 256).all()  # black pixels never spike

    seen = _fit(module, x, y, 1)
    silent_hidden = 0
    for step in range(steps):
        want = R.s4nn_train_sample(ref, t_in[step][:, None], int(y[step]))
        assert np.array_equal(seen[step][0][0], want["hidden"]), step
        assert np.array_equal(seen[step][1][0], want["out"]), step
        silent_hidden += int((want["hidden"] == 256).sum())
    assert (silent_hidden > 0) == (init == "mixed")
    for layer, w in zip(module.net.layers, ref.W, strict=True):
        _close(layer.weight.detach().numpy(), w[:, :, 0])


@pytest.mark.parametrize("init", ["released", "mixed"])
def test_sstdp_steps_match_the_released_module(compose_cfg, init: str) -> None:
    torch.manual_seed(0)
    n_in, n_classes, batch = 200, 4, 8
    module = _module(_baseline(compose_cfg, "sstdp", 12, init), n_in, n_classes)
    x, y = _images(2 * batch, n_in, 3), np.arange(2 * batch) % n_classes
    weights = _weights(module, np.float32)
    t_in = R.sstdp_encode(x)
    assert np.array_equal(module.encoder(torch.from_numpy(x)).numpy(), t_in)
    assert (t_in[x == 0] == 254).all()  # black at T - 1, after the simulated steps

    seen = _fit(module, x, y, batch)
    silent_hidden = 0
    for step in range(2):
        rows = slice(step * batch, (step + 1) * batch)
        want = R.sstdp_train_batch(weights, t_in[rows], y[rows])
        assert np.array_equal(seen[step][0], want["hidden"]), step
        assert np.array_equal(seen[step][1], want["out"]), step
        assert want["out"].max() <= 252 or (want["out"] == 255).any()
        silent_hidden += int((want["hidden"] == 255).sum())
    assert (silent_hidden > 0) == (init == "mixed")
    for layer, w in zip(module.net.layers, weights, strict=True):
        _close(layer.weight.detach().numpy(), w)


@pytest.mark.parametrize("name", ["bs4nn", "s4nn"])
def test_silent_outputs_are_decided_by_the_potential_three_steps_before_the_end(
    compose_cfg, name: str
) -> None:
    """No output fires: the released codes predict argmax V(T - 3)."""
    torch.manual_seed(0)
    n_in, hidden, theta = (100, 64, 20) if name == "bs4nn" else (200, 12, 100)
    module = _module(_baseline(compose_cfg, name, hidden, "mixed",
                               f"model.net.threshold_init=[{theta},1000]"), n_in, 4)
    x = _images(6, n_in, 5)
    out = module(torch.from_numpy(x))
    assert (out.out_times == module.T).all()
    pred = decide(out.out_times, out.v_fire, out.v_end, module.T, module.fallback)
    w0, w1 = _weights(module)
    for b in range(len(x)):
        if name == "bs4nn":
            st = R.BS4NNState(W0=w0[:, :, None], W1=w1[:, :, None], fact=[5.0, 5.0],
                              thr=(100, 5000))
            hidden, _ = R.bs4nn_forward_fc(st, R.bs4nn_encode(x[b])[:, None], st.W0, 0)
            _, v_out = R.bs4nn_forward_fc(st, hidden, st.W1, 1)
            want = int(np.argmax(v_out[:, st.Tmax - 3]))
        else:
            st = R.S4NNState(W=[w0[:, :, None].copy(), w1[:, :, None].copy()],
                             thr=(100, 1000))
            got = R.s4nn_train_sample(st, R.s4nn_encode(x[b])[:, None], 0)
            want = R.s4nn_decide(got["out"], got["v_out"], st.tmax)
        assert pred[b].item() == want, b
    if name == "s4nn":
        assert len(set(pred.tolist())) > 1
    else:  # hidden spikes at T - 2, T - 1 (black pixels at 255) move V(T - 1)
        v_end = module.net.layers[-1].potential_at(out.times[0], module.T - 1)
        assert not torch.equal(v_end, out.v_end)


@pytest.mark.parametrize("name", ["bs4nn", "s4nn", "sstdp"])
def test_experiment_carries_the_released_settings(compose_cfg, name: str) -> None:
    cfg = compose_cfg(f"experiment=mnist_{name}")
    loss = {  # the released losses: gamma, target variant, reduction
        "bs4nn": (1.0, "bs4nn", "half_sum"), "s4nn": (3.0, "s4nn", "half_sum"),
        "sstdp": (5.0, "sstdp", "mse")}[name]
    assert OmegaConf.to_container(cfg.loss, resolve=True) == {
        "_target_": "bstdg.snn.RelativeTargetMSE", "gamma": loss[0], "variant": loss[1],
        "reduction": loss[2]}
    net = OmegaConf.to_container(cfg.model.net, resolve=True)
    # hidden error after the output layer's SGD step (S4NN, BS4NN) or before it (SSTDP)
    lookahead = {"bs4nn": 0.1, "s4nn": 0.2, "sstdp": 0.0}[name]
    assert net["rule"]["backprop_lookahead"] == lookahead
    # T, black pixels spike, samples per SGD step, sampling, lr, weight decay, dead-neuron rate
    released = {
        "bs4nn": (256, True, 1, "replacement", 0.1, 0.0, 0.0),
        "s4nn": (256, False, 1, "sequential", 0.2, 1e-6, 0.001),
        "sstdp": (255, True, 64, "permutation", 10.0, 1e-6, 0.001),
    }[name]
    per_step = 1 if cfg.model.get("online") else cfg.data.batch_size  # online: per sample
    got = (cfg.encoder.T, cfg.encoder.zero_intensity_spikes, per_step,
           cfg.data.sampling, cfg.model.optimizer.lr, cfg.model.optimizer.weight_decay,
           (cfg.callbacks.get("dead_neuron_revival") or {}).get("min_rate", 0.0))
    assert got == released
    assert cfg.model.optimizer._target_ == "torch.optim.SGD" and cfg.model.scheduler is None
    assert cfg.model.optimizer.momentum == 0.0
    assert cfg.data.drop_last == (name == "sstdp")
    assert cfg.model.fallback == "max_potential" and cfg.model.net.fallback_offset == 3
    if name != "bs4nn":  # re-draw incoming weights only
        assert cfg.callbacks.dead_neuron_revival.mode == "incoming"


def test_samplers_draw_with_replacement_in_order_or_shuffled() -> None:
    sampler = EpochSeededReplacementSampler(1000, seed=3)
    first = list(sampler)
    assert len(first) == 1000 and all(0 <= i < 1000 for i in first)
    assert len(set(first)) < 1000  # repeats: about 632 distinct
    assert first == list(sampler)
    sampler.set_epoch(1)
    assert list(sampler) != first
    assert training_sampler("sequential", 10, 0) is None
    assert sorted(training_sampler("permutation", 10, 0)) == list(range(10))
    with pytest.raises(ValueError, match="unknown sampling"):
        training_sampler("bootstrap", 10, 0)


def test_fact_rule_refuses_gradient_accumulation(compose_cfg) -> None:
    module = _module(_baseline(compose_cfg, "bs4nn", 8, "released"), 20, 3)
    trainer = pl.Trainer(max_steps=1, accumulate_grad_batches=2, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False,
                         enable_model_summary=False, limit_val_batches=0)
    data = TensorDataset(torch.zeros(4, 20, dtype=torch.uint8), torch.zeros(4).long())
    with pytest.raises(ValueError, match="accumulate_grad_batches=1"):
        trainer.fit(module, train_dataloaders=DataLoader(data, batch_size=1))
