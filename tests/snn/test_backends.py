"""The backend interface: names and their resolution, one resolution per layer, backend
objects that copy and pickle by name, the pair rule written once (``KernelSpec``), and the
numba kernels' pairing and compile options."""

from __future__ import annotations

import copy
import pickle

import numba
import pytest
import torch

from bstdg.snn import BACKENDS, GradientRule, SpikingLinear, SpikingNet, first_spike_times
from bstdg.snn import layers as layers_module
from bstdg.snn.backends import backend_by_name, get_backend, resolve_backend
from bstdg.snn.backends.numba import early_exit, layer_kernels, primitives

CPU, CUDA = torch.device("cpu"), torch.device("cuda")


def test_names_resolve() -> None:
    assert BACKENDS == ("auto", "reference", "torch", "numba", "clock")
    assert resolve_backend("auto", CPU) == "numba"
    assert resolve_backend("auto", CUDA) == "torch"
    for name in BACKENDS[1:]:
        assert get_backend(name, CPU).name == name
    with pytest.raises(ValueError, match="CPU tensors only"):
        resolve_backend("numba", CUDA)


@pytest.mark.parametrize("make", [
    lambda: SpikingLinear(4, 3, T=8, backend="fast"),
    lambda: SpikingNet(4, 3, T=8, hidden=[5], backend="fast"),
    lambda: first_spike_times(torch.zeros(1, 4), torch.ones(3, 4), 1.0, T=8, backend="fast"),
])
def test_removed_fast_alias_names_the_valid_values(make) -> None:
    with pytest.raises(ValueError, match=r"unknown backend 'fast'.*valid: auto, reference, "
                                         r"torch, numba, clock"):
        make()


@pytest.mark.parametrize("fused", [False, True])
def test_layer_resolves_its_backend_once(monkeypatch, fused: bool) -> None:
    calls = []
    real = layers_module.get_backend
    monkeypatch.setattr(layers_module, "get_backend",
                        lambda name, device: calls.append(name) or real(name, device))
    net = SpikingNet(6, 3, T=8, hidden=[4], backend="auto", fused=fused)
    t_in = torch.randint(0, 9, (5, 6)).float()
    for _ in range(3):
        net(t_in).out_times.sum().backward()
    net.predict_early_exit(t_in)
    # none per call: one per layer, or only the first's when its backend runs the whole net
    fused_here = fused and net.layers[0].backend_for(t_in.device).name == "numba"
    assert calls == (["auto"] if fused_here else ["auto", "auto"])


@pytest.mark.parametrize("name", BACKENDS[1:])
def test_backend_objects_copy_and_pickle_by_name(name: str) -> None:
    impl = backend_by_name(name)
    assert copy.deepcopy(impl) is impl
    assert pickle.loads(pickle.dumps(impl)) is impl
    net = SpikingNet(6, 3, T=8, hidden=[4], backend=name)
    t_in = torch.randint(0, 9, (5, 6)).float()
    want = net(t_in).out_times
    for clone in (copy.deepcopy(net), pickle.loads(pickle.dumps(net))):
        assert torch.equal(clone(t_in).out_times, want)


RULES = [GradientRule(kernel="const", A=0.5), GradientRule(kernel="exp", tau=2.0, B=0.3),
         GradientRule(kernel="exp", causal_inclusive=True), GradientRule(kernel="linear_relpsp")]


@pytest.mark.parametrize("rule", RULES, ids=lambda r: f"{r.kernel}-B{r.B}-inc{r.causal_inclusive}")
def test_pair_rule_and_its_table(rule: GradientRule) -> None:
    T = 6
    spec = rule.kernel_spec(T)
    delta = torch.arange(-T, T + 1, dtype=torch.float64)
    weight, causal = spec.pair_table(T)
    assert weight.dtype == torch.float64 and causal.dtype == torch.bool
    assert torch.equal(causal, (delta > 0) | (rule.causal_inclusive & (delta == 0)))
    kappa = spec.kappa(delta)
    anti = -rule.B * torch.exp(delta / spec.tau)
    for d, w, c, kap, a in zip(delta, weight, causal, kappa, anti, strict=True):
        expect = float(kap) if c else (float(a) if d < 0 and rule.B else 0.0)
        assert float(w) == pytest.approx(expect)
    # the table is the elementwise rule, bit for bit, on any shape
    grid = delta[torch.randint(0, 2 * T + 1, (3, 4))]
    w_grid, c_grid = spec.pair_weight(grid)
    idx = (grid + T).long()
    assert torch.equal(w_grid, weight[idx]) and torch.equal(c_grid, causal[idx])


def test_numba_kernels_pair_serial_and_parallel_and_keep_their_options() -> None:
    kernels = {name: v for module in (layer_kernels, early_exit)
               for name, v in vars(module).items() if isinstance(v, primitives.Kernel)}
    assert set(kernels) == {"SORT_BATCH", "BINARIZE", "FORWARD", "GRADS", "SUM_PARTS",
                            "EARLY_EXIT"}
    for name, kernel in kernels.items():
        for variant in kernel:
            assert isinstance(variant, numba.core.registry.CPUDispatcher), name
            assert variant.targetoptions.get("nogil") is True, name
            assert type(variant._cache).__name__ == "FunctionCache", name  # cache=True
        assert kernel.parallel.targetoptions.get("parallel") is True, name
        assert not kernel.serial.targetoptions.get("parallel"), name
        # the parallel kernel takes the serial body's arguments, with n_chunks for lo, hi
        serial_args = kernel.serial.py_func.__code__.co_varnames[
            :kernel.serial.py_func.__code__.co_argcount]
        parallel_args = kernel.parallel.py_func.__code__.co_varnames[
            :kernel.parallel.py_func.__code__.co_argcount]
        assert serial_args[-2:] == ("lo", "hi") and parallel_args[-1] == "n_chunks", name
        assert serial_args[:-2] == parallel_args[:-1], name


def test_named_codes_are_the_readout_fallbacks() -> None:
    from bstdg.snn.readout import FALLBACKS

    assert set(early_exit.FALLBACK_CODES) == set(FALLBACKS)
    assert len(set(early_exit.FALLBACK_CODES.values())) == len(FALLBACKS)
    assert early_exit.PRED_NONE == -1  # readout.decide's "none"
    assert early_exit.PRED_OUT_OF_RANGE < 0 and primitives.TIMES_OUT_OF_RANGE < 0
