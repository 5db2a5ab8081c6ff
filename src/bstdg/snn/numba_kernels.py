"""Raw numba kernels of the event-driven single-spike IF layer (see ``numba_backend``).

Every kernel works on one sample's spiking inputs sorted by time (stable, so inputs of one
time bin stay in index order) and walks the non-empty time bins. Work is proportional to
the number of spiking inputs times N_out, independent of T. All kernels are compiled with
``cache=True`` and release the GIL; the forward ones use strict IEEE arithmetic so spike
times match the reference bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

_OPTS = {"cache": True, "nogil": True, "fastmath": False}

# Above this ratio T / N_in the per-sample sort switches from counting sort (O(N_in + T))
# to a stable merge sort (O(N_in log N_in)).
_COUNTING_SORT_MAX_RATIO = 4


@numba.njit(**_OPTS)
def sort_spikes(t_row, T, order, times, counts):  # pragma: no cover - compiled
    """Stable sort of the spiking inputs (t < T) of one sample by time.

    Writes the input indices to ``order[:n]`` and their times to ``times[:n]``; returns n.
    ``counts`` is a scratch buffer of length T + 1 (unused by the merge-sort path).
    """
    n_in = t_row.shape[0]
    if T > _COUNTING_SORT_MAX_RATIO * n_in:
        perm = np.argsort(t_row, kind="mergesort")
        n = 0
        for k in range(n_in):
            i = perm[k]
            t = t_row[i]
            if t >= T:
                break
            order[n] = i
            times[n] = t
            n += 1
        return n
    counts[:] = 0
    n = 0
    for i in range(n_in):
        t = t_row[i]
        if t < T:
            counts[t] += 1
            n += 1
    start = 0
    for t in range(T):
        c = counts[t]
        counts[t] = start
        start += c
    for i in range(n_in):
        t = t_row[i]
        if t < T:
            pos = counts[t]
            order[pos] = i
            times[pos] = t
            counts[t] = pos + 1
    return n


@numba.njit(**_OPTS)
def _test_crossings(pot, theta, step, delay, t_row, v_row, T):  # pragma: no cover - compiled
    """Mark unfired neurons whose potential exceeds theta at ``step``; returns how many."""
    fired = 0
    for j in range(pot.shape[0]):
        if t_row[j] == T and pot[j] > theta[j]:
            t_row[j] = step + delay
            v_row[j] = pot[j]
            fired += 1
    return fired


@numba.njit(parallel=True, **_OPTS)
def forward_binary(t_in, w_t, theta, T, delay, times, v_fire, v_end):  # pragma: no cover
    """Forward pass for +-1 weights: exact int32 accumulation of int8 weight rows.

    t_in (B, N_in) int64; w_t (N_in, N_out) int8 = w_hat^T; theta (N_out,) float64.
    Outputs (B, N_out): times int64, v_fire and v_end float32, written in place.
    """
    batch, n_in = t_in.shape
    n_out = w_t.shape[1]
    last_step = T - 1 - delay
    for b in numba.prange(batch):
        order = np.empty(n_in, np.int64)
        tsort = np.empty(n_in, np.int64)
        counts = np.empty(T + 1, np.int64)
        n = sort_spikes(t_in[b], T, order, tsort, counts)
        pot = np.zeros(n_out, np.int32)
        t_row = times[b]
        v_row = v_fire[b]
        t_row[:] = T
        remaining = n_out
        if last_step >= 0 and (n == 0 or tsort[0] > 0):
            remaining -= _test_crossings(pot, theta, 0, delay, t_row, v_row, T)
        p = 0
        while p < n:
            step = tsort[p]
            while p < n and tsort[p] == step:
                row = w_t[order[p]]
                for j in range(n_out):
                    pot[j] += row[j]
                p += 1
            if remaining > 0 and step <= last_step:
                remaining -= _test_crossings(pot, theta, step, delay, t_row, v_row, T)
        for j in range(n_out):
            v_end[b, j] = pot[j]
            if t_row[j] == T:
                v_row[j] = pot[j]


@numba.njit(parallel=True, **_OPTS)
def forward_real(t_in, w_t, theta, T, delay, times, v_fire, v_end):  # pragma: no cover
    """Forward pass for real weights, float64 like the reference.

    As in the reference, the weights of one time bin are summed first (in input order)
    and the bin total is then added to the potential, so rounding matches step for step.
    """
    batch, n_in = t_in.shape
    n_out = w_t.shape[1]
    last_step = T - 1 - delay
    for b in numba.prange(batch):
        order = np.empty(n_in, np.int64)
        tsort = np.empty(n_in, np.int64)
        counts = np.empty(T + 1, np.int64)
        n = sort_spikes(t_in[b], T, order, tsort, counts)
        pot = np.zeros(n_out, np.float64)
        bin_sum = np.empty(n_out, np.float64)
        t_row = times[b]
        v_row = v_fire[b]
        t_row[:] = T
        remaining = n_out
        if last_step >= 0 and (n == 0 or tsort[0] > 0):
            remaining -= _test_crossings(pot, theta, 0, delay, t_row, v_row, T)
        p = 0
        while p < n:
            step = tsort[p]
            bin_sum[:] = 0.0
            while p < n and tsort[p] == step:
                row = w_t[order[p]]
                for j in range(n_out):
                    bin_sum[j] += row[j]
                p += 1
            for j in range(n_out):
                pot[j] += bin_sum[j]
            if remaining > 0 and step <= last_step:
                remaining -= _test_crossings(pot, theta, step, delay, t_row, v_row, T)
        for j in range(n_out):
            v_end[b, j] = pot[j]
            if t_row[j] == T:
                v_row[j] = pot[j]


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _masked_dot(mask_g, row):  # pragma: no cover - compiled
    """sum_j mask_g[j] * row[j] in float64; reassociation lets it vectorise."""
    acc = 0.0
    for j in range(row.shape[0]):
        acc += mask_g[j] * row[j]
    return acc


@numba.njit(**_OPTS)
def _grads_chunk(
    t_in, t_out, g, wb_t, kappa_table, inclusive, T, lo, hi, acc, grad_t_in
):  # pragma: no cover - compiled
    """Serial body of ``grads`` for samples lo..hi-1 (kept out of the prange loop so that
    LLVM vectorises it like any plain function)."""
    n_in = t_in.shape[1]
    n_out = t_out.shape[1]
    order = np.empty(n_in, np.int64)
    tsort = np.empty(n_in, np.int64)
    counts = np.empty(T + 1, np.int64)
    coef = np.empty(n_out, np.float64)
    mask_g = np.empty(n_out, np.float64)
    for b in range(lo, hi):
        grad_t_in[b, :] = 0.0
        n = sort_spikes(t_in[b], T, order, tsort, counts)
        g_row = g[b]
        to_row = t_out[b]
        p = 0
        while p < n:
            step = tsort[p]
            for j in range(n_out):
                gj = g_row[j]
                tj = to_row[j]
                coef[j] = kappa_table[tj - step + T] * gj
                causal = tj > step or (inclusive and tj == step)
                mask_g[j] = gj if causal else 0.0
            while p < n and tsort[p] == step:
                i = order[p]
                row = acc[i]
                for j in range(n_out):
                    row[j] += coef[j]
                grad_t_in[b, i] = _masked_dot(mask_g, wb_t[i])
                p += 1


@numba.njit(parallel=True, **_OPTS)
def grads(
    t_in, t_out, g, wb_t, kappa_table, inclusive, T, n_chunks, grad_w_parts, grad_t_in
):  # pragma: no cover - compiled
    """Fused backward over causal (and anti-causal) spiking pairs.

    t_in (B, N_in) int64; t_out (B, N_out) int64; g (B, N_out) float64;
    wb_t (N_in, N_out) float32 = w_back^T; kappa_table[delta + T] (float64) holds -kappa
    for delta = t_j - t_i in [-T, T] (zero where a pair does not contribute).
    The batch is split into ``n_chunks`` contiguous chunks, one per thread; chunk c adds
    sum_b -kappa * g into grad_w_parts[c] (N_in, N_out, float64, zeroed here), so no two
    threads write the same memory. grad_t_in (B, N_in) float32 is written in place.
    """
    batch = t_in.shape[0]
    for c in numba.prange(n_chunks):
        lo = c * batch // n_chunks
        hi = (c + 1) * batch // n_chunks
        acc = grad_w_parts[c]
        acc[:] = 0.0
        _grads_chunk(t_in, t_out, g, wb_t, kappa_table, inclusive, T, lo, hi, acc, grad_t_in)


@numba.njit(parallel=True, **_OPTS)
def sum_parts_transposed(parts, out):  # pragma: no cover - compiled
    """out[j, i] = float32(sum_c parts[c, i, j]), parallel over blocks of 16 output rows."""
    n_chunks, n_in, n_out = parts.shape
    block = 16
    for jb in numba.prange((n_out + block - 1) // block):
        j0 = jb * block
        j1 = min(n_out, j0 + block)
        for i in range(n_in):
            for j in range(j0, j1):
                total = 0.0
                for c in range(n_chunks):
                    total += parts[c, i, j]
                out[j, i] = total
