"""The layer and rule options the baselines need, on every backend: window_trim (SSTDP's
simulation to T - 3), backprop_lookahead (hidden error through the SGD-updated weights),
fallback_offset (V(T - 3) decides silent samples), bs4nn_fact (BS4NN's scale rule), eps 0
and the mse reduction."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn import GradientRule, SpikingLinear, SpikingNet, decide, relative_target_mse
from bstdg.snn.functional import first_spike_times

BACKENDS = ["reference", "torch", "numba"]


def _inputs(batch: int, n: int, T: int, seed: int) -> torch.Tensor:
    gen = torch.Generator().manual_seed(seed)
    t_in = torch.randint(0, T + 1, (batch, n), generator=gen).float()
    t_in[:, :3] = T - 1  # inputs inside the trimmed steps
    t_in[:, 3:5] = T - 2
    return t_in


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("delay", [0, 1])
def test_window_trim_cuts_the_last_steps_on_every_backend(binary: bool, delay: int) -> None:
    T, trim = 20, 2
    gen = torch.Generator().manual_seed(1)
    t_in = _inputs(16, 30, T, 0)
    weight = torch.randn(7, 30, generator=gen) * (1.0 if binary else 0.8)
    w_hat = torch.where(weight >= 0, 1.0, -1.0) if binary else weight
    theta = torch.full((7,), 1.5)
    full = first_spike_times(t_in, w_hat, theta, T, delay, "reference")
    want = torch.where(full.times > T - 1 - trim, T, full.times)
    assert (full.times > T - 1 - trim).any() and (full.times < T).any()  # the cut matters
    grads = []
    for backend in BACKENDS:
        layer = SpikingLinear(30, 7, T, binary=binary, threshold_mode="fixed",
                              threshold_init=1.5, delay=delay, window_trim=trim,
                              rule=GradientRule(kernel="const", causal_inclusive=delay == 0),
                              backend=backend)
        with torch.no_grad():
            layer.weight.copy_(weight)
        t = t_in.clone().requires_grad_(True)
        times, _, v_end = layer(t)
        assert torch.equal(times.long(), want), backend
        # v_end: the potential at the last simulated step T - 1 - trim
        ref_v = ((t_in <= T - 1 - trim).double() @ w_hat.double().T).float()
        torch.testing.assert_close(v_end, ref_v)
        (times * torch.linspace(-1, 1, 7)).sum().backward()
        grads.append((layer.weight.grad.clone(), t.grad.clone()))
    for got in grads[1:]:
        torch.testing.assert_close(got[0], grads[0][0], rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got[1], grads[0][1], rtol=1e-5, atol=1e-6)
    # inputs at T - 2, T - 1 are never integrated, but sit inside the causal mask of a
    # silent neuron (SSTDP's t_i < T): they receive gradient
    assert grads[0][1][:, :5].abs().sum() > 0


@pytest.mark.parametrize("binary", [True, False])
def test_lookahead_propagates_through_the_sgd_updated_weights(binary: bool) -> None:
    T, eta = 32, 0.3
    t_in = _inputs(8, 25, T, 2)
    results = []
    for backend in BACKENDS:
        torch.manual_seed(5)
        layer = SpikingLinear(25, 6, T, binary=binary, threshold_mode="fixed",
                              threshold_init=2.0, init_range=(-1.0, 2.0), backend=backend,
                              rule=GradientRule(kernel="const", backprop_lookahead=eta))
        t = t_in.clone().requires_grad_(True)
        times, _, _ = layer(t)
        (times * torch.linspace(-1, 1, 6)).sum().backward()
        results.append((layer.weight.grad.clone(), t.grad.clone(), layer.weight.detach()))
    grad_w, grad_t, weight = results[0]
    for got in results[1:]:
        torch.testing.assert_close(got[0], grad_w, rtol=1e-5, atol=1e-6)
        torch.testing.assert_close(got[1], grad_t, rtol=1e-5, atol=1e-6)
    # against dL/dt_i = sum_j g_j (W - eta dL/dW)_ji [t_i < t_j], g the normalised upstream
    torch.manual_seed(5)
    plain = SpikingLinear(25, 6, T, binary=binary, threshold_mode="fixed", threshold_init=2.0,
                          init_range=(-1.0, 2.0), backend="reference",
                          rule=GradientRule(kernel="const"))
    t = t_in.clone().requires_grad_(True)
    times, _, _ = plain(t)
    g = plain.spec.rule.upstream(torch.linspace(-1, 1, 6).expand(8, 6), times)
    mask = (t_in[:, None, :] < times.detach()[:, :, None]) & (t_in[:, None, :] < T)
    moved = weight - eta * grad_w
    want = (g[:, :, None] * moved[None] * mask).sum(1)
    torch.testing.assert_close(grad_t, want, rtol=1e-5, atol=1e-6)


def test_fallback_offset_reads_the_potential_k_steps_before_the_end() -> None:
    T = 16
    torch.manual_seed(0)
    net = SpikingNet(20, 4, T, hidden=[10], binary=True, threshold_mode="fixed",
                     threshold_init=[1.0, 50.0], init_range=[[-1.0, 2.0], [-1.0, 2.0]],
                     fallback_offset=3)
    t_in = _inputs(12, 20, T, 3)
    out = net(t_in)
    assert (out.out_times == T).all()
    w_hat = torch.where(net.layers[1].weight >= 0, 1.0, -1.0)
    want = ((out.times[0] <= T - 3).float() @ w_hat.T).detach()
    assert torch.equal(out.v_end, want)
    pred, steps = net.predict_early_exit(t_in)  # the full path: same decisions
    assert torch.equal(pred, decide(out.out_times, out.v_fire, out.v_end, T))
    with pytest.raises(ValueError, match="fallback_offset must be in"):
        SpikingNet(20, 4, T, hidden=[10], fallback_offset=0)


def test_update_fact_follows_the_bs4nn_rule() -> None:
    layer = SpikingLinear(6, 3, 16, threshold_mode="bs4nn_fact", threshold_init=20.0,
                          fact_init=5.0, fact_lr=0.01)
    assert layer.fact.dtype == torch.float64 and layer.threshold.item() == 20.0
    assert not layer.threshold.requires_grad
    assert [n for n, _ in layer.named_parameters()] == ["weight"]
    layer.update_fact_()  # no gradient yet: nothing moves
    assert layer.fact.item() == 5.0
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, -2.0, 0.0, 3.0, -0.5, 1.0]] * 3))
    layer.weight.grad = torch.arange(18.0).reshape(3, 6) / 10
    signs = torch.tensor([1.0, -1.0, 0.0, 1.0, -1.0, 1.0])  # sign(0) = 0, as the notebook
    expected = 5.0 - 0.01 * (layer.weight.grad * signs).double().mean().item()
    layer.update_fact_()
    assert layer.fact.item() == pytest.approx(expected, rel=1e-12)
    assert layer.threshold.item() == pytest.approx(100.0 / expected, rel=1e-6)
    other = SpikingLinear(6, 3, 16, threshold_mode="per_layer", threshold_init=20.0)
    other.weight.grad = torch.ones(3, 6)
    other.update_fact_()
    assert other.threshold.item() == 20.0


@pytest.mark.parametrize(
    "kwargs,match",
    [({"threshold_mode": "bs4nn_fact", "fact_init": 0.0}, "fact_init must be > 0"),
     ({"fact_lr": -1.0}, "fact_lr must be >= 0"),
     ({"window_trim": 15}, "window_trim must be in"),
     ({"window_trim": -1}, "window_trim must be in")],
)
def test_bad_layer_options_are_refused(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        SpikingLinear(6, 3, 16, **kwargs)


def test_bad_rule_and_loss_options_are_refused() -> None:
    with pytest.raises(ValueError, match="eps must be >= 0"):
        GradientRule(eps=-1e-3)
    with pytest.raises(ValueError, match="backprop_lookahead must be >= 0"):
        GradientRule(backprop_lookahead=-0.1)
    with pytest.raises(ValueError, match="unknown reduction"):
        relative_target_mse(torch.zeros(1, 2), torch.zeros(1).long(), 4, reduction="sum")


def test_eps_zero_normalises_unless_the_norm_is_zero() -> None:
    rule = GradientRule(eps=0.0)
    g = rule.upstream(torch.tensor([[3.0, 4.0], [0.0, 0.0]]), torch.zeros(2, 2))
    assert torch.equal(g, torch.tensor([[0.3, 0.4], [0.0, 0.0]]))


def test_mse_reduction_is_torch_mse_loss() -> None:
    times = torch.tensor([[4.0, 9.0, 2.0], [20.0, 20.0, 20.0]], requires_grad=True)
    labels = torch.tensor([0, 2])
    loss = relative_target_mse(times, labels, 20, 5.0, "sstdp", reduction="mse")
    target = torch.tensor([[2.0, 9.0, 7.0], [20.0, 20.0, 15.0]])
    assert loss.item() == pytest.approx(torch.nn.functional.mse_loss(times, target).item())
