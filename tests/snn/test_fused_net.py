"""The whole-net Function of the numba backend (``SpikingNet(fused=True)``) against the layer
path it replaces (``fused=False``, itself held to the reference backend): the same spike
times and potentials bit for bit, the same gradients to float rounding, the same errors."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numba
import pytest
import torch

from bstdg.snn import GradientRule, SpikingNet, relative_target_mse
from bstdg.snn.backends.numba import launch
from bstdg.snn.backends.numba.net import fusable

T = 16
N_IN, N_OUT = 24, 4


def _fusable(net: SpikingNet) -> bool:
    weights, _, specs = net.by_layer()
    return fusable(weights, specs)


def _nets(hidden: list[int], **kw: Any) -> tuple[SpikingNet, SpikingNet]:
    torch.manual_seed(0)
    n = len(hidden) + 1
    kw.setdefault("threshold_init", [3.0] * (n - 1) + [2.0])
    kw.setdefault("init_range", [[-1.0, 2.0]] * (n - 1) + [[-3.0, 3.0]])
    fused = SpikingNet(N_IN, N_OUT, T, hidden=hidden, backend="numba", **kw)
    layers = copy.deepcopy(fused)
    layers.fused = False
    assert _fusable(fused)
    return fused, layers


def _run(net: SpikingNet, t_in: torch.Tensor, labels: torch.Tensor, seed: int = 1,
         hidden_loss: bool = False) -> tuple[Any, list[torch.Tensor]]:
    net.zero_grad(set_to_none=True)
    torch.manual_seed(seed)  # the same dropout draws on both paths
    out = net(t_in)
    loss = relative_target_mse(out.out_times, labels, T)
    if hidden_loss:  # a loss on the hidden spikes too: their own dL/dt joins the error
        loss = loss + sum(0.01 * t.sum() for t in out.hidden_times)
    loss.backward()
    grads = [torch.zeros_like(p) if p.grad is None else p.grad for p in net.parameters()]
    return out, grads


def _inputs(batch: int = 12) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(3)
    return (torch.randint(0, T + 1, (batch, N_IN), generator=g).float(),
            torch.randint(0, N_OUT, (batch,), generator=g))


def _ran_fused(out: Any) -> bool:
    return type(out.out_times.grad_fn).__name__ == "NumbaNetFunctionBackward"


def _assert_same(fused: SpikingNet, layers: SpikingNet, t_in: torch.Tensor,
                 labels: torch.Tensor, fused_ran: bool = True, **kw: Any) -> None:
    """Same outputs and gradients; ``fused_ran``: whether the first net must have taken the
    fused Function (the second never does)."""
    out_f, grads_f = _run(fused, t_in, labels, **kw)
    out_l, grads_l = _run(layers, t_in, labels, **kw)
    assert _ran_fused(out_f) == fused_ran and not _ran_fused(out_l)
    assert len(out_f.times) == len(out_l.times)
    for a, b in zip(out_f.times, out_l.times, strict=True):
        assert torch.equal(a, b)
    assert torch.equal(out_f.v_fire, out_l.v_fire)
    assert torch.equal(out_f.v_end, out_l.v_end)
    assert any(g.abs().sum() > 0 for g in grads_l)  # the case has a gradient to compare
    for a, b in zip(grads_f, grads_l, strict=True):
        assert a.shape == b.shape and a.dtype == b.dtype
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("hidden", [[], [30], [30, 20]])
@pytest.mark.parametrize("binary", [True, False])
def test_fused_net_equals_the_layer_path(hidden: list[int], binary: bool) -> None:
    fused, layers = _nets(hidden, binary=binary)
    _assert_same(fused, layers, *_inputs())


@pytest.mark.parametrize("kw", [
    {"hidden_dropout": 0.4},
    {"hidden_dropout": 0.3, "input_dropout": 0.2},
    {"threshold_mode": "per_layer"},
    {"threshold_mode": "fixed"},
    {"delay": 0, "rule": GradientRule(causal_inclusive=True)},
    {"rule": GradientRule(kernel="exp", tau=3.0, B=0.5)},
    {"rule": GradientRule(kernel="const", normalize=False)},
    {"rule": GradientRule(kernel="const", eps=0.0)},
    {"fallback_offset": 3},
    {"binary": False, "hidden_dropout": 0.3, "input_dropout": 0.1},
    {"threshold_mode": "bs4nn_fact", "rule": GradientRule(backprop_lookahead=0.0)},
], ids=lambda kw: "-".join(kw))
def test_fused_net_keeps_every_supported_option(kw: dict[str, Any]) -> None:
    fused, layers = _nets([30], **kw)
    _assert_same(fused, layers, *_inputs())


def test_dropout_draws_the_same_masks_and_silences_the_same_error() -> None:
    fused, layers = _nets([30, 20], hidden_dropout=0.5)
    t_in, labels = _inputs()
    for seed in (1, 2, 3):
        _assert_same(fused, layers, t_in, labels, seed=seed)


def test_a_loss_on_the_hidden_spikes_reaches_the_weights_below() -> None:
    fused, layers = _nets([30])
    _assert_same(fused, layers, *_inputs(), hidden_loss=True)


def test_input_gradient_when_the_input_times_require_it() -> None:
    fused, layers = _nets([30])
    t_in, labels = _inputs()
    grads = []
    for net in (fused, layers):
        t = t_in.clone().requires_grad_(True)
        relative_target_mse(net(t).out_times, labels, T).backward()
        grads.append(t.grad)
    assert grads[1].abs().sum() > 0
    torch.testing.assert_close(grads[0], grads[1], rtol=1e-5, atol=1e-7)


@pytest.mark.skipif(numba.config.NUMBA_NUM_THREADS < 2, reason="numba runs on one thread")
def test_a_batch_on_several_threads_takes_the_layer_path(monkeypatch) -> None:
    """The fused kernels run on one thread; several threads run the layer kernels' parallel
    loops (faster there), with the same results."""
    monkeypatch.setattr(launch, "PARALLEL_MIN_BATCH", 1)
    fused, layers = _nets([30], hidden_dropout=0.2)
    t_in, labels = _inputs(batch=9)
    impl = fused.layers[0].backend_for(t_in.device)
    before = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        assert impl.net_forward(t_in, *fused.by_layer(), [None]) is None
        _assert_same(fused, layers, t_in, labels, fused_ran=False)
    finally:
        torch.set_num_threads(before)
    assert impl.net_forward(t_in, *fused.by_layer(), [None]) is not None


@pytest.mark.parametrize("fused", [True, False])
def test_a_backward_after_editing_spike_times_in_place_is_refused(fused: bool) -> None:
    """The hidden times, which the loss does not keep: only the net's backward reads them."""
    net = _nets([30])[0 if fused else 1]
    t_in, labels = _inputs()
    out = net(t_in)
    loss = relative_target_mse(out.out_times, labels, T)
    out.hidden_times[0].clamp_(max=T - 1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_an_empty_batch_gives_empty_outputs_and_zero_gradients() -> None:
    fused, _ = _nets([30])
    out = fused(torch.zeros(0, N_IN))
    assert [tuple(t.shape) for t in out.times] == [(0, 30), (0, N_OUT)]
    assert _ran_fused(out)
    out.out_times.sum().backward()
    grads = [p.grad for p in fused.parameters() if p.requires_grad]
    assert len(grads) == 4 and all(g is not None and not g.any() for g in grads)


@pytest.mark.parametrize("bad, match", [
    (-1.0, r"spike times must lie in \[0, T=16\].*outside"),
    (2.5, r"spike times must lie in \[0, T=16\].*non-integer"),
    (float("nan"), r"spike times must lie in \[0, T=16\].*NaN"),
])
def test_bad_input_times_get_the_layer_paths_error(bad: float, match: str) -> None:
    fused, _ = _nets([30])
    t_in, _ = _inputs()
    t_in[2, 5] = bad
    with pytest.raises(ValueError, match=match):
        fused(t_in)


def test_float64_times_just_below_an_integer_are_refused() -> None:
    fused, _ = _nets([30])
    t_in = _inputs()[0].double()
    t_in[0, 0] = 7.99999999  # float32 would round it to 8
    with pytest.raises(ValueError, match="non-integer"):
        fused(t_in)


@pytest.mark.parametrize("binary", [True, False])
@pytest.mark.parametrize("what", ["weight", "threshold"])
def test_non_finite_parameters_are_refused(binary: bool, what: str) -> None:
    fused, _ = _nets([30], binary=binary)
    param = getattr(fused.layers[1], what)
    with torch.no_grad():
        param[(0,) * param.dim()] = float("inf")
    with pytest.raises(ValueError, match=f"{what} must be finite"):
        fused(_inputs()[0])


def test_a_wrong_input_width_names_the_expected_shape() -> None:
    fused, _ = _nets([30])
    with pytest.raises(ValueError, match=rf"weight must have shape \(N_out, {N_IN + 1}\)"):
        fused(torch.zeros(2, N_IN + 1))


@pytest.mark.parametrize("kw", [
    {"rule": GradientRule(kernel="linear_relpsp")},
    {"rule": GradientRule(silent_input_grad=True)},
    {"rule": GradientRule(backprop_lookahead=0.1)},
    {"rule": GradientRule(backprop_weights="binary_scaled")},
    {"window_trim": 2, "delay": 0},
], ids=lambda kw: "-".join(f"{k}" for k in kw))
def test_options_outside_the_kernel_take_the_layer_path(kw: dict[str, Any]) -> None:
    torch.manual_seed(0)
    net = SpikingNet(N_IN, N_OUT, T, hidden=[30], backend="numba", **kw)
    assert not _fusable(net)
    layers = copy.deepcopy(net)
    layers.fused = False
    out_f, grads_f = _run(net, *_inputs())
    out_l, grads_l = _run(layers, *_inputs())
    assert torch.equal(out_f.out_times, out_l.out_times)
    for a, b in zip(grads_f, grads_l, strict=True):
        assert torch.equal(a, b)


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("layer, width", [(1, 30), (2, 20)])
def test_a_wrong_hidden_weight_shape_names_the_expected_shape(fused: bool, layer: int,
                                                              width: int) -> None:
    """The fused kernel reads every layer's rows unchecked: a hidden weight that does not
    match the layer below is refused before it runs, with the layer path's message."""
    net = _nets([30, 20])[0 if fused else 1]
    net.layers[layer].weight = torch.nn.Parameter(torch.zeros(N_OUT, width + 5))
    with pytest.raises(ValueError, match=rf"weight must have shape \(N_out, {width}\)"):
        net(_inputs()[0])


@pytest.mark.parametrize("fused", [True, False])
def test_a_wrong_threshold_size_gets_the_layer_paths_error(fused: bool) -> None:
    net = _nets([30])[0 if fused else 1]
    net.layers[0].threshold = torch.nn.Parameter(torch.full((7,), 3.0))
    with pytest.raises(ValueError, match=r"threshold must be a scalar, shape \(1,\) or shape "
                                         r"\(30,\), got \(7,\)"):
        net(_inputs()[0])


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("shape", [(), (N_IN,), (2, 3, N_IN)])
def test_input_that_is_not_a_batch_matrix_is_refused(fused: bool, shape: tuple[int, ...]) -> None:
    net = _nets([30])[0 if fused else 1]
    net.train()
    net.hidden_dropout = 0.2  # the masks are drawn per sample: the shape is checked first
    with pytest.raises(ValueError, match=r"spike times must have shape \(batch, neurons\)"):
        net(torch.zeros(shape))


@pytest.mark.parametrize("fused", [True, False])
@pytest.mark.parametrize("layer", [0, 1])
def test_a_backward_after_editing_a_weight_in_place_is_refused(fused: bool, layer: int) -> None:
    """An optimiser step between forward and backward would give the gradient of weights
    that did not produce the spikes."""
    net = _nets([30])[0 if fused else 1]
    t_in, labels = _inputs()
    out = net(t_in)
    assert _ran_fused(out) == fused
    loss = relative_target_mse(out.out_times, labels, T)
    with torch.no_grad():
        net.layers[layer].weight.mul_(0.5)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        loss.backward()


def test_create_graph_gives_the_same_first_order_gradients() -> None:
    fused, layers = _nets([30])
    t_in, labels = _inputs()
    grads = []
    for net in (fused, layers):
        out = net(t_in)
        assert _ran_fused(out) == (net is fused)
        loss = relative_target_mse(out.out_times, labels, T)
        grads.append(torch.autograd.grad(loss, list(net.parameters()), create_graph=True))
    assert any(g.abs().sum() > 0 for g in grads[1])
    for a, b in zip(*grads, strict=True):
        torch.testing.assert_close(a.detach(), b.detach(), rtol=1e-5, atol=1e-7)


def test_float64_thresholds_are_rounded_as_the_layer_path_rounds_them() -> None:
    """The layer path casts thresholds to float32: 1.9999999999 becomes 2.0 on both paths."""
    fused, layers = _nets([30])
    for net in (fused, layers):
        for layer in net.layers:
            layer.threshold = torch.nn.Parameter(
                torch.full_like(layer.threshold, 1.9999999999, dtype=torch.float64))
    _assert_same(fused, layers, *_inputs())


@pytest.mark.parametrize("change", [{"delay": 3}, {"binary": False},
                                    {"rule": GradientRule(normalize=False)}],
                         ids=lambda c: "-".join(c))
def test_layers_with_different_specs_take_the_layer_path(change: dict[str, Any]) -> None:
    """The fused kernel applies layer 0's spec to every layer."""
    fused, layers = _nets([30])
    for net in (fused, layers):
        net.layers[1].spec = dataclasses.replace(net.layers[1].spec, **change)
    assert not _fusable(fused)
    _assert_same(fused, layers, *_inputs(), fused_ran=False)


@pytest.mark.parametrize("keep, match", [
    ([], r"one mask per hidden layer \(1\), got 0"),
    ([torch.ones(12, 5, dtype=torch.bool)], r"keep\[0\] must be None or a bool tensor of shape "
                                             r"\(12, 30\)"),
    ([torch.ones(12, 30)], r"keep\[0\] must be None or a bool tensor"),
])
def test_the_backend_refuses_dropout_masks_that_do_not_fit(keep: list[Any], match: str) -> None:
    fused, _ = _nets([30])
    t_in = _inputs()[0]
    with pytest.raises(ValueError, match=match):
        fused.layers[0].backend_for(t_in.device).net_forward(t_in, *fused.by_layer(), keep)


def test_the_backend_refuses_input_that_is_not_a_batch_matrix() -> None:
    fused, _ = _nets([30])
    impl = fused.layers[0].backend_for(torch.device("cpu"))
    with pytest.raises(ValueError, match=r"spike times must have shape \(batch, neurons\)"):
        impl.net_forward(torch.tensor(3.0), *fused.by_layer(), [None])
