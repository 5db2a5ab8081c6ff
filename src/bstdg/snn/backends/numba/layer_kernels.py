"""The layer kernels of the numba backend: forward and backward of one single-spike IF
layer over a batch (see ``backend``).

Every kernel works on one sample's spiking inputs sorted by time (``primitives.sort_spikes``)
and walks the non-empty time bins, so work is proportional to the number of spiking inputs
times N_out, independent of T. The forward writes the sorted lists (a per-sample CSR,
:class:`~bstdg.snn.backends.numba.primitives.SpikeCSR`) so the backward reuses them. Spike
times may be given as any integer or float dtype (integer-valued).

One integrate-and-fire walk (:func:`_walk`) serves both weight kinds. Each batch kernel is a
:class:`~bstdg.snn.backends.numba.primitives.Kernel`: its serial body over rows lo..hi-1
paired with the ``prange`` kernel that runs the body on contiguous chunks of rows. The
per-sample steps (``forward_sample``, ``grads_sample``) are what the fused-net kernels
(``net_kernels``) run layer by layer.
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from bstdg.snn.backends.numba.primitives import (
    INLINE_OPTS,
    JIT_OPTS,
    Kernel,
    add_bin,
    add_rest,
    bin_buffer,
    bin_end,
    chunk_rows,
    fired_mark,
    narrow_weights,
    sort_sample,
    sort_scratch,
    walk_thresholds,
)

# ------------------------------------------------------------------ sorting and binarising


@numba.njit(**JIT_OPTS)
def sort_batch_rows(t_in, T, csr, lo, hi):  # pragma: no cover - compiled
    """The CSR of samples lo..hi-1 (the one the forward kernel also writes)."""
    scratch = sort_scratch(T, t_in.shape[1])
    for b in range(lo, hi):
        sort_sample(t_in, T, csr, scratch, b)


@numba.njit(parallel=True, **JIT_OPTS)
def sort_batch(t_in, T, csr, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = chunk_rows(c, n_chunks, t_in.shape[0])
        sort_batch_rows(t_in, T, csr, lo, hi)


SORT_BATCH = Kernel(sort_batch_rows, sort_batch)


@numba.njit(**JIT_OPTS)
def binarize_rows_rows(w_t, w8_t, lo, hi):  # pragma: no cover - compiled
    """w8_t = sign(w_t) as int8 (sign(0) = +1) for rows lo..hi-1, same (N_in, N_out)
    layout: no transpose."""
    for i in range(lo, hi):
        row = w_t[i]
        out = w8_t[i]
        for j in range(row.shape[0]):
            out[j] = 1 if row[j] >= 0 else -1


@numba.njit(parallel=True, **JIT_OPTS)
def binarize_rows(w_t, w8_t, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = chunk_rows(c, n_chunks, w_t.shape[0])
        binarize_rows_rows(w_t, w8_t, lo, hi)


BINARIZE = Kernel(binarize_rows_rows, binarize_rows)


# ------------------------------------------------------------- the integrate-and-fire walk


@numba.njit(**INLINE_OPTS)
def _fire_check(pot, thr, step, delay, t_row, v_row):  # pragma: no cover - compiled
    """Fire the neurons with pot > thr (fired ones have thr = ``fired_mark``):
    t = step + delay, v_fire = pot. Returns how many fired. Branch-free (selects), so the
    loop vectorises."""
    fired = np.int32(0)
    t_fire = t_row.dtype.type(step + delay)
    mark = fired_mark(thr)
    for j in range(pot.shape[0]):
        v = pot[j]
        c = v > thr[j]
        t_row[j] = t_fire if c else t_row[j]
        v_row[j] = np.float32(v) if c else v_row[j]
        thr[j] = mark if c else thr[j]
        fired += np.int32(c)
    return fired


@numba.njit(**JIT_OPTS)
def _walk(w_t, ids, ts, n, pot, thr, bin_sum, delay, last_step, t_row,
          v_row):  # pragma: no cover - compiled
    """One sample through one layer: integrate-and-fire over its n sorted inputs ids (times
    ts), one time bin at a time, testing crossings after each bin at a step <= last_step
    (and at step 0 before any input, where a neuron with theta < 0 fires) until every
    neuron fired; ``pot`` ends as the potential at the window end."""
    remaining = pot.shape[0]
    if last_step >= 0 and (n == 0 or ts[0] > 0):
        remaining -= _fire_check(pot, thr, 0, delay, t_row, v_row)
    p = 0
    while p < n and remaining > 0 and ts[p] <= last_step:
        q = bin_end(ts, p, n)
        if add_bin(pot, w_t, ids, p, q, thr, bin_sum) > 0:
            remaining -= _fire_check(pot, thr, ts[p], delay, t_row, v_row)
        p = q
    add_rest(pot, w_t, ids, ts, p, n, thr, bin_sum)


# -------------------------------------------------------------------------------- forward


@numba.njit(**JIT_OPTS)
def forward_rows(t_in, w_t, theta, T, delay, out, csr, lo, hi):  # pragma: no cover
    """Forward pass of samples lo..hi-1.

    t_in (B, N_in) integer-valued times (any dtype); w_t (N_in, N_out) = w_hat^T, int8 for
    +-1 weights (exact int16 or int32 potentials, see ``NARROW_MAX_INPUTS``; theta compared
    as ``int_thresholds(theta)``) or float64 (float64 potentials, like the reference); theta
    (N_out,) float. Writes ``out`` (``LayerOut``) and the sorted spiking inputs ``csr``
    (``SpikeCSR``).
    """
    if narrow_weights(w_t):
        thr = walk_thresholds(theta, w_t, True)
        _forward_samples(t_in, w_t, thr, T, delay, out, csr, lo, hi)
    else:
        thr = walk_thresholds(theta, w_t, False)
        _forward_samples(t_in, w_t, thr, T, delay, out, csr, lo, hi)


@numba.njit(**JIT_OPTS)
def _forward_samples(t_in, w_t, thr, T, delay, out, csr, lo, hi):  # pragma: no cover
    """``forward_rows`` with the thresholds ``thr`` in the potential's dtype."""
    n_out = w_t.shape[1]
    last_step = T - 1 - delay
    scratch = sort_scratch(T, t_in.shape[1])
    pot = np.empty(n_out, thr.dtype)
    th = np.empty(n_out, thr.dtype)
    bin_sum = bin_buffer(pot)
    for b in range(lo, hi):
        n = sort_sample(t_in, T, csr, scratch, b)
        out.times[b, :] = T
        if n >= 0:
            forward_sample(w_t, thr, T, delay, last_step, csr, b, n, pot, th, bin_sum, out)


@numba.njit(**JIT_OPTS)
def forward_sample(w_t, thr, T, delay, last_step, csr, b, n, pot, th, bin_sum,
                   out):  # pragma: no cover - compiled
    """Sample b (its n sorted inputs in ``csr``, its ``out.times`` row preset to T) through
    one layer: spike times, v_fire (the window-end potential where no spike) and v_end.
    ``pot``, ``th`` and ``bin_sum`` are scratch (``bin_buffer``)."""
    t_row, v_row = out.times[b], out.v_fire[b]
    pot[:] = 0
    th[:] = thr
    _walk(w_t, csr.order[b], csr.tsort[b], n, pot, th, bin_sum, delay, last_step, t_row, v_row)
    for j in range(pot.shape[0]):
        out.v_end[b, j] = pot[j]
        if t_row[j] == T:
            v_row[j] = pot[j]


@numba.njit(parallel=True, **JIT_OPTS)
def forward(t_in, w_t, theta, T, delay, out, csr, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = chunk_rows(c, n_chunks, t_in.shape[0])
        forward_rows(t_in, w_t, theta, T, delay, out, csr, lo, hi)


FORWARD = Kernel(forward_rows, forward)


# ------------------------------------------------------------------------------- backward


# The backward visits only the output neurons with g != 0 when fewer than 1 / _SPARSE_RATIO
# of them are (scattered scalar updates); otherwise it updates whole float32 rows (vectorised).
_SPARSE_RATIO = 16


class GradOut(NamedTuple):
    """Backward outputs: ``grad_w_t`` (N_in, N_out) float32 (chunk 0's accumulator),
    ``extra`` (n_chunks - 1, N_in, N_out) float32 (the other chunks'), ``touched``
    (n_chunks, N_in) uint8 (rows a chunk wrote), ``grad_t_in`` (B, N_in) float32."""

    grad_w_t: np.ndarray
    extra: np.ndarray
    touched: np.ndarray
    grad_t_in: np.ndarray


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _masked_dot(mask_g, row):  # pragma: no cover - compiled
    """sum_j mask_g[j] * row[j] in float64; reassociation lets it vectorise."""
    acc = 0.0
    for j in range(row.shape[0]):
        acc += mask_g[j] * row[j]
    return acc


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def axpy(row, coef):  # pragma: no cover - compiled
    for j in range(row.shape[0]):
        row[j] += coef[j]


@numba.njit(**JIT_OPTS)
def _bin_coefs(g_row, to_row, active, n_act, pairs, step, need_t_in, coef,
               mask_g):  # pragma: no cover - compiled
    """For inputs spiking at ``step``, at the outputs j = active[:n_act] (those with
    g_j != 0; coef and mask_g are zero elsewhere): coef[j] = -weight(t_j - step) g_j and,
    with ``need_t_in``, mask_g[j] = g_j on causal pairs, else 0 (``pairs``: PairTable)."""
    for m in range(n_act):
        j = active[m]
        gj = np.float64(g_row[j])
        d = int(to_row[j]) - step + pairs.T
        coef[j] = pairs.neg_weight[d] * gj
        if need_t_in:
            mask_g[j] = gj if pairs.causal[d] else 0.0


@numba.njit(**JIT_OPTS)
def _acc_row(acc, touched, i):  # pragma: no cover - compiled
    """Row i of a chunk's dW^T accumulator, zeroed on first use (rows of inputs that never
    spike in the chunk are neither zeroed nor summed)."""
    row = acc[i]
    if touched[i] == 0:
        row[:] = 0.0
        touched[i] = 1
    return row


@numba.njit(**JIT_OPTS)
def _grads_chunk(csr, t_out, g, wb_t, pairs, need_t_in, acc, touched, grad_t_in, lo,
                 hi):  # pragma: no cover - compiled
    """Backward of samples lo..hi-1 into the chunk's accumulator ``acc`` (rows flagged in
    ``touched``), kept out of the prange loop so that LLVM vectorises it like any plain
    function."""
    scratch = grads_scratch(t_out.shape[1])
    no_row = np.empty(0, grad_t_in.dtype)
    touched[:] = 0
    for b in range(lo, hi):
        grads_sample(csr.order[b], csr.tsort[b], csr.nspk[b], t_out[b], g[b], wb_t, pairs,
                     need_t_in, acc, touched, grad_t_in[b] if need_t_in else no_row, scratch)


class GradsScratch(NamedTuple):
    """Per-thread scratch of :func:`grads_sample` over N_out outputs."""

    coef: np.ndarray
    mask_g: np.ndarray
    active: np.ndarray


@numba.njit(**JIT_OPTS)
def grads_scratch(n_out):  # pragma: no cover - compiled
    return GradsScratch(np.zeros(n_out, np.float32), np.zeros(n_out, np.float64),
                        np.empty(n_out, np.int64))


@numba.njit(**JIT_OPTS)
def grads_sample(o_row, ts_row, n, to_row, g_row, wb_t, pairs, need_t_in, acc, touched,
                 gt_row, scratch):  # pragma: no cover - compiled
    """Backward of one sample (its n sorted inputs o_row / ts_row, output times to_row,
    error g_row) into the accumulator ``acc`` (rows flagged in ``touched``) and, with
    ``need_t_in``, dL/dt_in into ``gt_row`` (zeroed first). A sample with g == 0 adds
    nothing; when few outputs have g != 0 only those are visited."""
    if need_t_in:
        gt_row[:] = 0.0
    coef, mask_g, active = scratch.coef, scratch.mask_g, scratch.active
    n_out = to_row.shape[0]
    coef[:] = 0.0
    mask_g[:] = 0.0
    n_act = 0
    for j in range(n_out):
        if g_row[j] != 0:
            active[n_act] = j
            n_act += 1
    if n_act == 0:
        return
    sparse = _SPARSE_RATIO * n_act < n_out
    p = 0
    while p < n:
        step = ts_row[p]
        _bin_coefs(g_row, to_row, active, n_act, pairs, step, need_t_in, coef, mask_g)
        while p < n and ts_row[p] == step:
            i = o_row[p]
            row = _acc_row(acc, touched, i)
            if sparse:
                for m in range(n_act):
                    row[active[m]] += coef[active[m]]
            else:
                axpy(row, coef)
            if need_t_in:
                wrow = wb_t[i]
                if sparse:
                    s = 0.0
                    for m in range(n_act):
                        s += mask_g[active[m]] * wrow[active[m]]
                    gt_row[i] = s
                else:
                    gt_row[i] = _masked_dot(mask_g, wrow)
            p += 1


@numba.njit(**JIT_OPTS)
def grads_rows(csr, t_out, g, wb_t, pairs, need_t_in, out, lo, hi):  # pragma: no cover
    """``grads`` on one thread: samples lo..hi-1 into out.grad_w_t (no extra parts)."""
    _grads_chunk(csr, t_out, g, wb_t, pairs, need_t_in, out.grad_w_t, out.touched[0],
                 out.grad_t_in, lo, hi)


@numba.njit(parallel=True, **JIT_OPTS)
def grads(csr, t_out, g, wb_t, pairs, need_t_in, out, n_chunks):  # pragma: no cover
    """Fused backward over causal (and anti-causal) spiking pairs.

    csr: the sorted spiking inputs of each sample (``sort_batch`` or the forward);
    t_out (B, N_out) integer-valued times (any dtype); g (B, N_out) float;
    wb_t (N_in, N_out) float32 = w_back^T; pairs: the :class:`PairTable` of the rule.
    The batch is split into n_chunks = len(out.extra) + 1 contiguous chunks, one per thread,
    each adding sum_b -weight * g (float32) into its own (N_in, N_out) accumulator: chunk 0
    into out.grad_w_t, chunk c > 0 into out.extra[c - 1]; out.touched[c, i] says whether
    row i of chunk c was written (``sum_parts`` then completes grad_w_t). No two threads
    write the same memory. out.grad_t_in (B, N_in) is written when ``need_t_in``.
    """
    for c in numba.prange(n_chunks):
        lo, hi = chunk_rows(c, n_chunks, csr.nspk.shape[0])
        acc = out.grad_w_t if c == 0 else out.extra[c - 1]
        _grads_chunk(csr, t_out, g, wb_t, pairs, need_t_in, acc, out.touched[c],
                     out.grad_t_in, lo, hi)


GRADS = Kernel(grads_rows, grads)


@numba.njit(**JIT_OPTS)
def sum_parts_rows(out, lo, hi):  # pragma: no cover - compiled
    """out.grad_w_t[i] += the touched rows i of out.extra, for rows lo..hi-1; rows no chunk
    touched are zeroed (see ``grads``)."""
    n_extra = out.extra.shape[0]
    for i in range(lo, hi):
        row = out.grad_w_t[i]
        if out.touched[0, i] == 0:
            row[:] = 0.0
        for c in range(n_extra):
            if out.touched[c + 1, i] != 0:
                axpy(row, out.extra[c, i])


@numba.njit(parallel=True, **JIT_OPTS)
def sum_parts(out, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = chunk_rows(c, n_chunks, out.grad_w_t.shape[0])
        sum_parts_rows(out, lo, hi)


SUM_PARTS = Kernel(sum_parts_rows, sum_parts)
