"""The spike-timing-dependent gradient: backend agreement, signs on toy cases, shapes."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn import GradientRule, SpikingLinear, SpikingNet
from bstdg.snn.backends.reference import grads_reference
from bstdg.snn.backends.torch_ops import grads_torch
from bstdg.snn.rules import KERNELS
from helpers.net_configs import MODELS, net_kwargs

RULES = [
    GradientRule(kernel="const"),
    GradientRule(kernel="exp"),
    GradientRule(kernel="exp", tau=2.0, B=0.3),
    GradientRule(kernel="linear_relpsp"),
    GradientRule(kernel="const", causal_inclusive=True),
]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.kernel}-B{r.B}-inc{r.causal_inclusive}")
@pytest.mark.parametrize("T", [2, 16, 100])
def test_torch_grads_match_reference(rule: GradientRule, T: int) -> None:
    gen = torch.Generator().manual_seed(T)
    t_in = torch.randint(0, T + 1, (6, 30), generator=gen)
    t_out = torch.randint(0, T + 1, (6, 9), generator=gen)
    g, w_back = torch.randn(6, 9, generator=gen), torch.randn(9, 30, generator=gen)
    spec = rule.kernel_spec(T)
    ref_w, ref_t = grads_reference(t_in, t_out, g, w_back, spec, T)
    got_w, got_t = grads_torch(t_in, t_out, g, w_back, spec, T)
    torch.testing.assert_close(got_w, ref_w, rtol=1e-4, atol=1e-5)
    torch.testing.assert_close(got_t, ref_t, rtol=1e-4, atol=1e-5)


def _toy_layer(rule: GradientRule, binary: bool, mode: str, delay: int = 1) -> SpikingLinear:
    layer = SpikingLinear(2, 1, T=16, binary=binary, threshold_mode=mode, threshold_init=1.5,
                          delay=delay, rule=rule, backend="reference")
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([[1.0, 1.0]]))
    return layer


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("direction", ["late", "early"])
def test_two_neuron_toy_signs(kernel: str, binary: bool, direction: str) -> None:
    """A neuron firing too late gets causal weights up and threshold down (and vice versa)."""
    layer = _toy_layer(GradientRule(kernel=kernel), binary, "per_neuron")
    t_in = torch.tensor([[1.0, 3.0]])  # V = 1 at step 1, 2 at step 3 -> fires at 4
    t_out, _, _ = layer(t_in)
    assert t_out.item() == 4.0
    target = 10.0 if direction == "early" else 0.0
    ((t_out - target) ** 2).sum().backward()
    grad_w, grad_theta = layer.weight.grad[0], layer.threshold.grad
    sign = 1.0 if direction == "late" else -1.0  # SGD moves against the gradient
    assert torch.all(-grad_w * sign > 0), grad_w
    assert (grad_theta * sign > 0).all(), grad_theta


@pytest.mark.parametrize("name", MODELS)
def test_model_configs_push_late_output_earlier(name: str) -> None:
    settings = net_kwargs(name)
    settings.update(threshold_init=[1.5], init_range=[[1.0, 1.0 + 1e-6]], backend="reference")
    net = SpikingNet(2, 1, T=16, hidden=[], **settings)
    t_out = net(torch.tensor([[1, 3]])).out_times
    (t_out - 0.0).pow(2).sum().backward()
    assert (net.layers[0].weight.grad < 0).all()
    threshold = net.layers[0].threshold
    if threshold.requires_grad:
        assert (threshold.grad > 0).all()


def test_anti_causal_term_depresses_late_inputs() -> None:
    layer = _toy_layer(GradientRule(kernel="exp", tau=2.0, B=0.5), True, "fixed")
    t_in = torch.tensor([[0.0, 9.0]])  # input 1 after the output spike (t_out = 1)
    with torch.no_grad():
        layer.threshold.fill_(0.5)
    t_out, _, _ = layer(t_in)
    assert t_out.item() == 1.0
    t_out.sum().backward()  # dL/dt = +1: fire earlier is better
    grad = layer.weight.grad[0]
    assert grad[0] < 0  # causal input potentiated
    assert grad[1] > 0  # anti-causal input depressed
    assert torch.isclose(grad[1], torch.tensor(0.5 * torch.exp(torch.tensor(-8.0 / 2.0)).item()))


def test_per_sample_normalisation_and_batch_mean() -> None:
    layer = _toy_layer(GradientRule(kernel="const"), True, "per_layer")
    t_in = torch.tensor([[1.0, 3.0], [1.0, 3.0]])
    t_out, _, _ = layer(t_in)
    (t_out * torch.tensor([[1000.0], [1.0]])).sum().backward()
    # each sample's gradient has unit norm, then the batch is averaged: -(1 + 1) / 2 per weight
    torch.testing.assert_close(layer.weight.grad, torch.tensor([[-1.0, -1.0]]))
    assert layer.threshold.grad.shape == (1,)
    torch.testing.assert_close(layer.threshold.grad, torch.tensor([1.0]))


@pytest.mark.parametrize("mode,shape", [("per_neuron", (3,)), ("per_layer", (1,))])
def test_threshold_grad_shapes(mode: str, shape: tuple) -> None:
    layer = SpikingLinear(5, 3, T=8, threshold_mode=mode, threshold_init=0.5, backend="torch")
    t, _, _ = layer(torch.randint(0, 9, (4, 5)))
    t.sum().backward()
    assert layer.threshold.grad.shape == shape


def test_fixed_threshold_is_a_buffer_and_error_reaches_lower_layer() -> None:
    net = SpikingNet(6, 3, T=12, hidden=[5], threshold_mode="fixed", threshold_init=[0.5, 0.5],
                     init_range=[0.0, 1.0], backend="torch")
    assert all(not layer.threshold.requires_grad for layer in net.layers)
    out = net(torch.randint(0, 4, (4, 6)))
    out.out_times.sum().backward()
    assert net.layers[0].weight.grad is not None and net.layers[0].weight.grad.abs().sum() > 0


@pytest.mark.parametrize("backprop", ["latent", "binary_scaled", "binary"])
def test_backprop_weight_options(backprop: str) -> None:
    rule = GradientRule(kernel="const", backprop_weights=backprop)
    w = torch.tensor([[0.5, -2.0]])
    expected = {"latent": w, "binary_scaled": 1.25 * torch.tensor([[1.0, -1.0]]),
                "binary": torch.tensor([[1.0, -1.0]])}[backprop]
    torch.testing.assert_close(rule.backprop_matrix(w, binary=True), expected)
    torch.testing.assert_close(rule.backprop_matrix(w, binary=False), w)


def test_constraints_clamp_threshold_and_clip_latent() -> None:
    layer = SpikingLinear(3, 2, T=8, threshold_min=2.0, latent_clip=1.0, init_range=(-5.0, 5.0))
    with torch.no_grad():
        layer.threshold.fill_(-3.0)
    layer.constrain_()
    assert (layer.threshold == 2.0).all() and layer.weight.abs().max() <= 1.0


@pytest.mark.parametrize(
    "kwargs,match",
    [({"kernel": "gauss"}, "unknown kernel"), ({"tau": 0.0}, "tau must be > 0"),
     ({"backprop_weights": "x"}, "unknown backprop_weights"), ({"kernel": "const", "B": 1.0},
                                                               "anti-causal term"),
     ({"tau_fraction": 0.0}, "tau_fraction must be > 0")],
)
def test_bad_rule_options(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        GradientRule(**kwargs)


def test_tau_defaults_to_a_fraction_of_the_window() -> None:
    assert GradientRule(kernel="exp").kernel_spec(64).tau == 32.0
    assert GradientRule(tau_fraction=0.125).kernel_spec(64).tau == 8.0
    assert GradientRule(tau=5.0, tau_fraction=0.5).kernel_spec(64).tau == 5.0
    assert net_kwargs("bstdg")["rule"]["tau_fraction"] == 0.5


@pytest.mark.parametrize("backend", ["reference", "torch", "numba"])
def test_silent_input_grad_reaches_silent_hidden_neurons(backend: str) -> None:
    """With the causal mask alone a silent input gets no error; silent_input_grad gives it
    sum_j g_j w~_ji, and leaves the spiking inputs' gradients and dL/dW unchanged."""
    torch.manual_seed(3)
    T = 16
    t_in = torch.randint(0, T, (5, 8)).float()
    t_in[:, [1, 6]] = T  # two silent inputs
    grads = {}
    for flag in (False, True):
        layer = SpikingLinear(8, 4, T=T, threshold_init=1.0, backend=backend,
                              rule=GradientRule(kernel="const", silent_input_grad=flag))
        with torch.no_grad():
            layer.weight.copy_(torch.linspace(-2, 3, 32).reshape(4, 8))
        t = t_in.clone().requires_grad_(True)
        out, _, _ = layer(t)
        upstream = torch.linspace(-1, 1, 20).reshape(5, 4)
        out.backward(upstream)
        g = layer.spec.rule.upstream(upstream, torch.zeros(5, 4))
        grads[flag] = (t.grad, layer.weight.grad.clone(), g @ layer.weight.detach())
    (off, w_off, _), (on, w_on, full) = grads[False], grads[True]
    assert (off[:, [1, 6]] == 0).all()
    torch.testing.assert_close(on[:, [1, 6]], full[:, [1, 6]])
    torch.testing.assert_close(on[:, [0, 2, 3, 4, 5, 7]], off[:, [0, 2, 3, 4, 5, 7]])
    torch.testing.assert_close(w_on, w_off)
