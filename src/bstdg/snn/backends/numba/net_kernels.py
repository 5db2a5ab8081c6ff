"""Whole-net numba kernels: every sample through every layer in one launch (forward), and
the spike-timing gradient of every layer in one launch (backward).

Layer by layer over the samples of a chunk, they run the layer kernels' own per-sample
steps (``sort_spikes``, ``forward_sample``, ``grads_sample``), so spike times are the layer
path's bit for bit and gradients match it to float rounding (the per-sample normalisation
and the threshold gradient, done here instead of in torch, sum in another order); what they
save is the per-layer round trip through Python, torch and autograd.

They run on one thread: with several, the layer kernels' ``prange`` loops are faster
(numba's parallel loops cannot take these kernels' tuples of per-layer structures, and
chunks on Python threads lost to them: 1.3 against 1.0 ms per 784-400-10 batch-64 step on
two threads), so ``net`` fuses single-thread batches only.

Tuples of per-layer arrays are homogeneous (``UniTuple``): the weight rows are all int8
(+-1 nets) or all float64 (real weights), so a loop over the layers indexes them at run
time, and one compiled kernel serves every depth of the same array kinds.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from bstdg.snn.backends.numba.layer_kernels import axpy, forward_sample, grads_sample, grads_scratch
from bstdg.snn.backends.numba.primitives import (
    JIT_OPTS,
    bin_buffer,
    narrow_weights,
    sort_scratch,
    sort_spikes,
    walk_thresholds,
)


class NetGrads(NamedTuple):
    """Backward outputs of one layer: ``grad_w_t`` (N_in, N_out) float32 dW^T, ``touched``
    (N_in,) uint8 (the rows written, the others are zeroed at the end), ``g`` (B, N_out)
    float32 (the layer's error after normalisation) and ``g_sum`` (N_out,) float64 (its sum
    over the batch: the threshold gradient)."""

    grad_w_t: np.ndarray
    touched: np.ndarray
    g: np.ndarray
    g_sum: np.ndarray


@numba.njit(**JIT_OPTS)
def sign_rows_checked(w_t, w8_t):  # pragma: no cover - compiled
    """w8_t = sign(w_t) as int8 (sign(0) = +1), same (N_in, N_out) layout; returns whether
    every weight is finite (the check costs no extra pass over the weights)."""
    ok = True
    for i in range(w_t.shape[0]):
        row = w_t[i]
        out = w8_t[i]
        for j in range(row.shape[0]):
            x = row[j]
            out[j] = 1 if x >= 0 else -1
            ok &= (x - x) == 0
    return ok


# -------------------------------------------------------------------------------- forward


@numba.njit(**JIT_OPTS)
def net_forward(t_in, w, theta, T, delay, keep, outs, csrs):  # pragma: no cover - compiled
    """Every sample through every layer, layer by layer.

    t_in (B, N_0) float32 integer-valued times; w: tuple of forward rows w_hat^T
    (N_l-1, N_l), all int8 or all float64; theta: tuple of (N_l,) float64 thresholds;
    keep: tuple of (B, N_l) bool masks, the spikes of layer l that reach layer l + 1
    (shape (0, 0): all of them; the last is not read); outs / csrs: tuples of each layer's
    :class:`LayerOut` (float32 times) and :class:`SpikeCSR`. A sample with a time outside
    [0, T] gets ``csrs[0].nspk[b] = TIMES_OUT_OF_RANGE`` (the caller raises).
    ``outs[l].times`` holds the layer's own spikes, before ``keep``.
    """
    narrow = True
    for layer in range(len(w)):
        narrow &= narrow_weights(w[layer])
    if narrow:
        thr = [walk_thresholds(theta[layer], w[layer], True) for layer in range(len(w))]
        _net_forward_samples(t_in, w, thr, T, delay, keep, outs, csrs)
    else:
        thr = [walk_thresholds(theta[layer], w[layer], False) for layer in range(len(w))]
        _net_forward_samples(t_in, w, thr, T, delay, keep, outs, csrs)


@numba.njit(**JIT_OPTS)
def _net_forward_samples(t_in, w, thr, T, delay, keep, outs, csrs):  # pragma: no cover
    n_layers = len(w)
    last_step = T - 1 - delay
    scratch = [sort_scratch(T, w[layer].shape[0]) for layer in range(n_layers)]
    pots = [np.empty(w[layer].shape[1], thr[0].dtype) for layer in range(n_layers)]
    ths = [np.empty(w[layer].shape[1], thr[0].dtype) for layer in range(n_layers)]
    bins = [bin_buffer(pots[layer]) for layer in range(n_layers)]
    widest = 0
    for layer in range(n_layers):
        widest = max(widest, w[layer].shape[1])
    passed = np.empty(widest, np.float32)  # a hidden layer's spikes that reach the next
    for layer in range(n_layers):
        csr, out = csrs[layer], outs[layer]
        mask = keep[layer - 1] if layer else keep[0][:0]
        for b in range(t_in.shape[0]):
            src = t_in[b] if layer == 0 else outs[layer - 1].times[b]
            if mask.shape[0]:
                nxt = passed[:src.shape[0]]
                for j in range(src.shape[0]):
                    nxt[j] = src[j] if mask[b, j] else T
                src = nxt
            n = sort_spikes(src, T, csr.order[b], csr.tsort[b], scratch[layer])
            csr.nspk[b] = n
            out.times[b, :] = T
            if n >= 0:  # only the input can be out of range: the caller raises
                forward_sample(w[layer], thr[layer], T, delay, last_step, csr, b, n,
                               pots[layer], ths[layer], bins[layer], out)


# ------------------------------------------------------------------------------- backward


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _sum_squares(x):  # pragma: no cover - compiled
    """sum_j x_j^2 in float64; reassociation lets it vectorise."""
    acc = 0.0
    for j in range(x.shape[0]):
        acc += np.float64(x[j]) * np.float64(x[j])
    return acc


@numba.njit(**JIT_OPTS)
def _upstream(G, normalize, eps, batch, g_row):  # pragma: no cover - compiled
    """``GradientRule.upstream`` of one sample in float32 as torch computes it:
    g = G / (||G|| + eps) / B where ||G|| > 0 (the norm summed in float64, then rounded),
    G itself without ``normalize``."""
    if not normalize:
        g_row[:] = G
        return
    norm = np.float32(np.sqrt(_sum_squares(G)))
    if norm > 0:
        norm = np.float32(norm + np.float32(eps))
    else:
        norm = np.float32(1.0)
    for j in range(G.shape[0]):
        g_row[j] = np.float32(np.float32(G[j] / norm) / np.float32(batch))


@numba.njit(**JIT_OPTS)
def net_grads(csrs, times, grad_top, wb, pairs, normalize, eps, grad_t_in,
              res):  # pragma: no cover - compiled
    """The backward of the batch through every layer, top down.

    csrs: each layer's sorted inputs (the forward's); times: each layer's float32 output
    times (B, N_l); grad_top: dL/dt of each layer's own spikes from the loss ((0, 0): none);
    wb: each layer's backprop rows w~^T (N_l-1, N_l) float32; pairs: the rule's
    :class:`PairTable`; normalize / eps: ``GradientRule.upstream``; grad_t_in: (B, N_0)
    float32 dL/dt_in of the net's input ((0, 0): not wanted); res: tuple of
    :class:`NetGrads`, written. A hidden layer's dL/dt is what the layer above passes down
    (zero at a dropped spike, which that layer saw as silent) plus its ``grad_top`` row.
    """
    n_layers = len(wb)
    batch = times[0].shape[0]
    below = np.zeros((batch, wb[-1].shape[0]), np.float32)  # dL/dt_in of the layer above
    no_row = np.empty(0, np.float32)
    for layer in range(n_layers - 1, -1, -1):
        r, csr, top = res[layer], csrs[layer], grad_top[layer]
        scratch = grads_scratch(wb[layer].shape[1])
        n_out, n_in = wb[layer].shape[1], wb[layer].shape[0]
        passed = below  # the error the layer above passed down
        err = np.empty(n_out, np.float32)
        below = np.zeros((batch, n_in) if layer else (0, 0), np.float32)
        need_t_in = layer > 0 or grad_t_in.shape[0] > 0
        r.touched[:] = 0
        r.g_sum[:] = 0.0
        for b in range(batch):
            if layer == n_layers - 1:
                err[:] = 0.0
            else:
                err[:] = passed[b]
            if top.shape[0]:
                axpy(err, top[b])
            g_row = r.g[b]
            _upstream(err, normalize, eps, batch, g_row)
            for j in range(n_out):
                r.g_sum[j] += g_row[j]
            gt_row = below[b] if layer else (grad_t_in[b] if need_t_in else no_row)
            grads_sample(csr.order[b], csr.tsort[b], csr.nspk[b], times[layer][b], g_row,
                         wb[layer], pairs, need_t_in, r.grad_w_t, r.touched, gt_row, scratch)
        for i in range(n_in):
            if r.touched[i] == 0:
                r.grad_w_t[i, :] = 0.0
