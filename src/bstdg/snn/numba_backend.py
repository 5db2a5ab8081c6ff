"""Event-driven fused CPU backend (numba), same interface and results as the reference.

Forward, per sample (parallel over the batch): sort the spiking inputs by time, add the
weight rows of every input of a time bin into the potential vector, and after each
non-empty bin test the unfired neurons for V > theta. +-1 weights are accumulated exactly
as int32 from an int8 copy; real weights in float64 with the reference's rounding order
(bin sum first), so spike times are identical to ``forward_reference``.

Backward: one fused pass over the spiking inputs of each sample, parallel over batch
chunks (one per thread, each with its own float64 dW accumulator, summed at the end).
Gradients match ``grads_reference`` to float rounding; the dW summation order, and so
its last float32 bit, can depend on the thread count.

numba's thread count follows ``torch.get_num_threads()`` (capped by NUMBA_NUM_THREADS).
"""

from __future__ import annotations

import numba
import numpy as np
import torch

from bstdg.snn import numba_kernels as _k
from bstdg.snn.rules import KernelSpec
from bstdg.snn.spikes import SpikeTimes


def _sync_threads() -> int:
    """Set numba's thread count to torch's (capped); return it."""
    n = max(1, min(torch.get_num_threads(), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
    return n


def _numpy(x: torch.Tensor) -> np.ndarray:
    """A numpy view of a CPU tensor (conversions are then done by single-threaded numpy,
    so no torch OpenMP team is left spinning while the numba kernel runs)."""
    return x.detach().cpu().numpy()


def _times_array(t: torch.Tensor, T: int) -> np.ndarray:
    """Integer-valued spike times (int64 or float) as a contiguous int64 numpy array.

    Checks the range [0, T]: the kernels index tables with these values unchecked.
    """
    arr = np.ascontiguousarray(_numpy(t), dtype=np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > T):
        raise ValueError(f"spike times must lie in [0, T={T}], got [{arr.min()}, {arr.max()}]")
    return arr


def forward_numba(
    t_in: torch.Tensor, w_hat: torch.Tensor, theta: torch.Tensor, T: int, delay: int
) -> SpikeTimes:
    """Same semantics as ``forward_reference`` (event-driven; cost independent of T)."""
    batch = t_in.shape[0]
    n_out = w_hat.shape[0]
    w_np = _numpy(w_hat)
    times = torch.empty(batch, n_out, dtype=torch.int64)
    v_fire = torch.empty(batch, n_out, dtype=torch.float32)
    v_end = torch.empty(batch, n_out, dtype=torch.float32)
    if batch == 0 or n_out == 0:
        times.fill_(T)
        v_fire.zero_()
        v_end.zero_()
        return SpikeTimes(times, v_fire, v_end)
    t_np = _times_array(t_in, T)
    theta_np = np.ascontiguousarray(
        np.broadcast_to(_numpy(theta).reshape(-1), (n_out,)), dtype=np.float64
    )
    if bool(np.all(np.abs(w_np) == 1)):
        w_t = np.ascontiguousarray(w_np.T, dtype=np.int8)
        kernel = _k.forward_binary
    else:
        w_t = np.ascontiguousarray(w_np.T, dtype=np.float64)
        kernel = _k.forward_real
    _sync_threads()
    kernel(t_np, w_t, theta_np, int(T), int(delay), times.numpy(), v_fire.numpy(), v_end.numpy())
    return SpikeTimes(times, v_fire, v_end)


def _kappa_table(spec: KernelSpec, T: int) -> np.ndarray:
    """-kappa(delta) for delta = t_j - t_i in [-T, T], zero where a pair does not count.

    Built with the same torch expressions as ``grads_reference`` so values agree exactly.
    """
    delta = torch.arange(-T, T + 1, dtype=torch.float64)
    causal = (delta > 0) | (spec.inclusive & (delta == 0))
    kappa = torch.where(causal, spec.kappa(delta), torch.zeros_like(delta))
    if spec.anti_causal:
        kappa = kappa + torch.where(delta < 0, -spec.B * torch.exp(delta / spec.tau), 0.0)
    return (-kappa).contiguous().numpy()


def grads_numba(
    t_in: torch.Tensor,
    t_out: torch.Tensor,
    g: torch.Tensor,
    w_back: torch.Tensor,
    spec: KernelSpec,
    T: int,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same as ``grads_reference``, looping only over spiking inputs (sorted by time)."""
    batch, n_in = t_in.shape
    n_out = t_out.shape[1]
    grad_t_in = torch.empty(batch, n_in, dtype=torch.float32)
    if batch == 0 or n_in == 0 or n_out == 0:
        return torch.zeros(n_out, n_in, dtype=torch.float32), grad_t_in.zero_()
    n_chunks = min(_sync_threads(), batch)
    parts = np.empty((n_chunks, n_in, n_out), dtype=np.float64)
    _k.grads(
        _times_array(t_in, T),
        _times_array(t_out, T),
        np.ascontiguousarray(_numpy(g), dtype=np.float64),
        np.ascontiguousarray(_numpy(w_back).T, dtype=np.float32),
        _kappa_table(spec, int(T)),
        bool(spec.inclusive),
        int(T),
        n_chunks,
        parts,
        grad_t_in.numpy(),
    )
    grad_w = torch.empty(n_out, n_in, dtype=torch.float32)
    _k.sum_parts_transposed(parts, grad_w.numpy())
    return grad_w, grad_t_in
