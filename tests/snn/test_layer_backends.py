"""The layer as autograd sees it (SpikingNet -> SpikeTimingFunction): every backend gives the
same spike times and the same parameter gradients as the reference, whatever the weight's
memory layout, and the numba path hands back gradients in the parameter's own layout."""

from __future__ import annotations

import pytest
import torch

from bstdg.snn import SpikingNet, relative_target_mse

T = 16
SIZES = (40, 12, 5)


def _net(backend: str, binary: bool, backprop: str, contiguous: bool) -> SpikingNet:
    torch.manual_seed(3)
    net = SpikingNet(SIZES[0], SIZES[2], T, hidden=[SIZES[1]], binary=binary,
                     threshold_init=[2.0, 1.0], init_range=[[-1.0, 2.0], [-2.0, 4.0]],
                     rule={"kernel": "exp", "backprop_weights": backprop}, backend=backend)
    if contiguous:
        for layer in net.layers:
            layer.weight = torch.nn.Parameter(layer.weight.detach().contiguous())
    return net


def _run(net: SpikingNet, device: str = "cpu") -> tuple[list[torch.Tensor], list[torch.Tensor]]:
    gen = torch.Generator().manual_seed(11)
    t_in = torch.randint(0, T + 1, (9, SIZES[0]), generator=gen).float()
    labels = torch.randint(0, SIZES[2], (9,), generator=gen)
    out = net.to(device)(t_in.to(device))
    relative_target_mse(out.out_times, labels.to(device), T).backward()
    grads = [g.cpu() for layer in net.layers for g in (layer.weight.grad, layer.threshold.grad)]
    return [t.cpu() for t in out.times], grads


@pytest.mark.parametrize("backend", ["numba", "torch", "clock"])
@pytest.mark.parametrize("binary,backprop", [(True, "latent"), (True, "binary_scaled"),
                                             (False, "latent")])
@pytest.mark.parametrize("contiguous", [False, True])
def test_layer_backends_match_reference(backend: str, binary: bool, backprop: str,
                                        contiguous: bool) -> None:
    times_ref, grads_ref = _run(_net("reference", binary, backprop, contiguous=False))
    times, grads = _run(_net(backend, binary, backprop, contiguous))
    for got, want in zip(times, times_ref, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    assert sum(float(g.abs().sum()) for g in grads_ref) > 0
    for got, want in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("binary,backprop", [(True, "latent"), (True, "binary_scaled"),
                                             (False, "latent")])
def test_auto_backend_on_cuda_matches_reference(binary: bool, backprop: str) -> None:
    """On CUDA tensors ``auto`` runs the torch backend: same spike times and gradients."""
    times_ref, grads_ref = _run(_net("reference", binary, backprop, contiguous=False))
    times, grads = _run(_net("auto", binary, backprop, contiguous=False), device="cuda")
    for got, want in zip(times, times_ref, strict=True):
        torch.testing.assert_close(got, want, rtol=0, atol=0)
    for got, want in zip(grads, grads_ref, strict=True):
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


def test_weight_is_stored_transposed_and_numba_grad_keeps_its_layout() -> None:
    net = _net("numba", binary=True, backprop="latent", contiguous=False)
    _run(net)
    for layer in net.layers:
        n_out, n_in = layer.weight.shape
        assert (n_out, n_in) == (layer.out_features, layer.in_features)
        assert layer.weight.stride() == (1, n_out)
        assert layer.weight.grad.stride() == layer.weight.stride()
