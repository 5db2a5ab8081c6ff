"""Raw numba kernels of the event-driven single-spike IF layer (see ``numba_backend``).

Every kernel works on one sample's spiking inputs sorted by time (stable, so inputs of one
time bin stay in index order) and walks the non-empty time bins. Work is proportional to
the number of spiking inputs times N_out, independent of T. The forward kernels write the
sorted lists (``order``, ``tsort``, ``nspk``: a per-sample CSR) so the backward reuses them.
Spike times may be given as any integer or float dtype (integer-valued); they are range
checked on the fly (``nspk[b] = -1`` flags a sample with a time outside [0, T]).
All kernels are compiled with ``cache=True`` and release the GIL; the forward ones use
strict IEEE arithmetic so spike times match the reference bit for bit.
"""

from __future__ import annotations

import numba
import numpy as np

_OPTS = {"cache": True, "nogil": True, "fastmath": False}

# Above this ratio T / n (n spiking inputs) the per-sample sort switches from counting sort
# (O(n + T)) to a stable merge sort (O(n log n)).
_COUNTING_SORT_MAX_RATIO = 4
# Marker threshold of a neuron that has fired. Integer potentials of +-1 weights stay within
# +-N_in < 2**30 and integer thresholds are clipped to [-2**30, 2**30 - 1] (same decisions),
# so no potential exceeds it and V - theta never overflows int32.
_FIRED = np.int32(2**30)
_INT32_MIN = np.int32(-(2**31))
# The backward visits only the output neurons with g != 0 when fewer than 1 / _SPARSE_RATIO
# of them are (scattered scalar updates); otherwise it updates whole float32 rows (vectorised).
_SPARSE_RATIO = 16


@numba.njit(**_OPTS)
def sort_spikes(t_row, T, order, times, counts):  # pragma: no cover - compiled
    """Stable sort of the spiking inputs (t < T) of one sample by time.

    Writes the input indices to ``order[:n]`` and their times to ``times[:n]``; returns n,
    or -1 if a time lies outside [0, T] (or is NaN). ``counts`` is a scratch buffer of
    length T + 1. The spiking inputs are first gathered (branch-free) into ``times``, so
    the counting sort touches only them: O(N_in + n + T), or O(N_in + n log n) by merge
    sort when T is large against n.
    """
    n = 0
    for i in range(t_row.shape[0]):
        x = t_row[i]
        if not (x >= 0 and x <= T):
            return -1
        times[n] = i
        n += x < T
    if n == 0:
        return 0
    if T > _COUNTING_SORT_MAX_RATIO * n:
        spk_t = np.empty(n, np.int64)
        for k in range(n):
            spk_t[k] = int(t_row[times[k]])
        perm = np.argsort(spk_t, kind="mergesort")
        for k in range(n):
            order[k] = times[perm[k]]
        for k in range(n):
            times[k] = spk_t[perm[k]]
        return n
    counts[:T] = 0
    for k in range(n):
        counts[int(t_row[times[k]])] += 1
    start = 0
    for t in range(T):
        c = counts[t]
        counts[t] = start
        start += c
    for k in range(n):
        i = times[k]
        pos = counts[int(t_row[i])]
        order[pos] = i
        counts[int(t_row[i])] = pos + 1
    for k in range(n):
        times[k] = int(t_row[order[k]])
    return n


@numba.njit(**_OPTS)
def _chunk(c, n_chunks, n_rows):  # pragma: no cover - compiled
    """Rows [lo, hi) of chunk c of n_chunks equal contiguous chunks."""
    return c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks


@numba.njit(**_OPTS)
def sort_batch_rows(t_in, T, order, tsort, nspk, lo, hi):  # pragma: no cover - compiled
    """``sort_spikes`` of samples lo..hi-1 (the CSR the forward kernels also write)."""
    counts = np.empty(T + 1, np.int64)
    for b in range(lo, hi):
        nspk[b] = sort_spikes(t_in[b], T, order[b], tsort[b], counts)


@numba.njit(parallel=True, **_OPTS)
def sort_batch(t_in, T, order, tsort, nspk, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, t_in.shape[0])
        sort_batch_rows(t_in, T, order, tsort, nspk, lo, hi)


@numba.njit(**_OPTS)
def binarize_rows_rows(w_t, w8_t, lo, hi):  # pragma: no cover - compiled
    """w8_t = sign(w_t) as int8 (sign(0) = +1) for rows lo..hi-1, same (N_in, N_out)
    layout: no transpose."""
    for i in range(lo, hi):
        row = w_t[i]
        out = w8_t[i]
        for j in range(row.shape[0]):
            out[j] = 1 if row[j] >= 0 else -1


@numba.njit(parallel=True, **_OPTS)
def binarize_rows(w_t, w8_t, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, w_t.shape[0])
        binarize_rows_rows(w_t, w8_t, lo, hi)


@numba.njit(**_OPTS)
def _fire_check(pot, thr, step, delay, t_row, v_row):  # pragma: no cover - compiled
    """Mark neurons with pot > thr (unfired ones; fired have thr = _FIRED); count them.
    Branch-free (selects), so the loop vectorises."""
    fired = np.int32(0)
    t_fire = t_row.dtype.type(step + delay)
    for j in range(pot.shape[0]):
        v = pot[j]
        c = v > thr[j]
        t_row[j] = t_fire if c else t_row[j]
        v_row[j] = np.float32(v) if c else v_row[j]
        thr[j] = _FIRED if c else thr[j]
        fired += np.int32(c)
    return fired


@numba.njit(**_OPTS)
def _max_excess(pot, thr):  # pragma: no cover - compiled
    """max_j (pot_j - thr_j) in int32 (no overflow, see _FIRED); > 0 iff a neuron crosses."""
    m = _INT32_MIN
    for j in range(pot.shape[0]):
        d = np.int32(pot[j] - thr[j])
        m = d if d > m else m
    return m


@numba.njit(**_OPTS)
def _add_rows(pot, w_t, order, p, q):  # pragma: no cover - compiled
    for k in range(p, q):
        row = w_t[order[k]]
        for j in range(pot.shape[0]):
            pot[j] += row[j]


@numba.njit(**_OPTS)
def _add_row_excess(pot, row, thr):  # pragma: no cover - compiled
    """pot += row; return max_j (pot_j - thr_j) (> 0 iff a neuron crosses). int32
    throughout so that the loop vectorises (about 3x faster than counting the hits)."""
    m = _INT32_MIN
    for j in range(pot.shape[0]):
        v = np.int32(pot[j] + row[j])
        pot[j] = v
        d = np.int32(v - thr[j])
        m = d if d > m else m
    return m


@numba.njit(**_OPTS)
def int_thresholds(theta):  # pragma: no cover - compiled
    """floor(theta) as int32: for integer V, V > theta <=> V > floor(theta). Clipped to
    [-2**30, 2**30 - 1], which changes no decision as |V| <= N_in < 2**30; NaN never fires."""
    thr = np.empty(theta.shape[0], np.int32)
    for j in range(theta.shape[0]):
        x = theta[j]
        if not (x < 2.0**30 - 1):
            thr[j] = 2**30 - 1
        elif x <= -(2.0**30):
            thr[j] = -(2**30)
        else:
            thr[j] = np.int32(np.floor(x))
    return thr


@numba.njit(**_OPTS)
def _start_sample(t_in, T, order, tsort, nspk, times, counts, b):  # pragma: no cover
    """Sort sample b's spiking inputs into its CSR row (nspk[b] = n, or -1 for a time outside
    [0, T]) and mark every output silent (times[b] = T); returns n."""
    n = sort_spikes(t_in[b], T, order[b], tsort[b], counts)
    nspk[b] = n
    times[b, :] = T
    return n


@numba.njit(**_OPTS)
def forward_binary_rows(
    t_in, w_t, theta, T, delay, times, v_fire, v_end, order, tsort, nspk, lo, hi
):  # pragma: no cover - compiled
    """Forward pass for +-1 weights (samples lo..hi-1): exact int32 accumulation of int8
    weight rows.

    t_in (B, N_in) integer-valued times (any dtype); w_t (N_in, N_out) int8 = w_hat^T;
    theta (N_out,) float, compared as ``int_thresholds(theta)``. Outputs (B, N_out): times
    (any dtype), v_fire, v_end float32, written in place; order, tsort (B, N_in) int32 and
    nspk (B,) int32: the sorted spiking inputs.
    """
    thr = int_thresholds(theta)
    n_out = w_t.shape[1]
    last_step = T - 1 - delay
    counts = np.empty(T + 1, np.int64)
    pot = np.empty(n_out, np.int32)
    th = np.empty(n_out, np.int32)
    for b in range(lo, hi):
        n = _start_sample(t_in, T, order, tsort, nspk, times, counts, b)
        if n < 0:
            continue
        o_row, ts_row, t_row, v_row = order[b], tsort[b], times[b], v_fire[b]
        pot[:] = 0
        th[:] = thr
        remaining = n_out
        if last_step >= 0 and (n == 0 or ts_row[0] > 0):
            remaining -= _fire_check(pot, th, 0, delay, t_row, v_row)
        p = 0
        while p < n:
            step = ts_row[p]
            q = p + 1
            while q < n and ts_row[q] == step:
                q += 1
            _add_rows(pot, w_t, o_row, p, q - 1)
            excess = _add_row_excess(pot, w_t[o_row[q - 1]], th)
            if excess > 0 and step <= last_step:
                remaining -= _fire_check(pot, th, step, delay, t_row, v_row)
            p = q
            if remaining == 0 or step >= last_step:
                _add_rows(pot, w_t, o_row, p, n)
                break
        for j in range(n_out):
            v_end[b, j] = pot[j]
            if th[j] != _FIRED:
                v_row[j] = pot[j]


@numba.njit(parallel=True, **_OPTS)
def forward_binary(
    t_in, w_t, theta, T, delay, times, v_fire, v_end, order, tsort, nspk, n_chunks
):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, t_in.shape[0])
        forward_binary_rows(t_in, w_t, theta, T, delay, times, v_fire, v_end, order, tsort,
                            nspk, lo, hi)


@numba.njit(**_OPTS)
def _test_crossings(pot, theta, step, delay, t_row, v_row, fired_flag):  # pragma: no cover
    """Mark unfired neurons whose potential exceeds theta at ``step``; returns how many."""
    fired = 0
    for j in range(pot.shape[0]):
        if fired_flag[j] == 0 and pot[j] > theta[j]:
            t_row[j] = step + delay
            v_row[j] = pot[j]
            fired_flag[j] = 1
            fired += 1
    return fired


@numba.njit(**_OPTS)
def forward_real_rows(
    t_in, w_t, theta, T, delay, times, v_fire, v_end, order, tsort, nspk, lo, hi
):  # pragma: no cover - compiled
    """Forward pass for real weights (samples lo..hi-1), float64 like the reference.

    As in the reference, the weights of one time bin are summed first (in input order)
    and the bin total is then added to the potential, so rounding matches step for step.
    """
    n_out = w_t.shape[1]
    last_step = T - 1 - delay
    counts = np.empty(T + 1, np.int64)
    pot = np.empty(n_out, np.float64)
    bin_sum = np.empty(n_out, np.float64)
    fired_flag = np.empty(n_out, np.uint8)
    for b in range(lo, hi):
        n = _start_sample(t_in, T, order, tsort, nspk, times, counts, b)
        if n < 0:
            continue
        o_row, ts_row, t_row, v_row = order[b], tsort[b], times[b], v_fire[b]
        pot[:] = 0.0
        fired_flag[:] = 0
        remaining = n_out
        if last_step >= 0 and (n == 0 or ts_row[0] > 0):
            remaining -= _test_crossings(pot, theta, 0, delay, t_row, v_row, fired_flag)
        p = 0
        while p < n:
            step = ts_row[p]
            bin_sum[:] = 0.0
            while p < n and ts_row[p] == step:
                row = w_t[o_row[p]]
                for j in range(n_out):
                    bin_sum[j] += row[j]
                p += 1
            for j in range(n_out):
                pot[j] += bin_sum[j]
            if remaining > 0 and step <= last_step:
                remaining -= _test_crossings(pot, theta, step, delay, t_row, v_row, fired_flag)
        for j in range(n_out):
            v_end[b, j] = pot[j]
            if fired_flag[j] == 0:
                v_row[j] = pot[j]


@numba.njit(parallel=True, **_OPTS)
def forward_real(
    t_in, w_t, theta, T, delay, times, v_fire, v_end, order, tsort, nspk, n_chunks
):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, t_in.shape[0])
        forward_real_rows(t_in, w_t, theta, T, delay, times, v_fire, v_end, order, tsort,
                          nspk, lo, hi)


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _masked_dot(mask_g, row):  # pragma: no cover - compiled
    """sum_j mask_g[j] * row[j] in float64; reassociation lets it vectorise."""
    acc = 0.0
    for j in range(row.shape[0]):
        acc += mask_g[j] * row[j]
    return acc


@numba.njit(cache=True, nogil=True, fastmath={"reassoc", "contract"})
def _axpy(row, coef):  # pragma: no cover - compiled
    for j in range(row.shape[0]):
        row[j] += coef[j]


@numba.njit(**_OPTS)
def _bin_coefs(g_row, to_row, active, n_act, kappa_table, step, T, inclusive, need_t_in,
               coef, mask_g):  # pragma: no cover - compiled
    """For inputs spiking at ``step``, at the outputs j = active[:n_act] (those with
    g_j != 0; coef and mask_g are zero elsewhere): coef[j] = -kappa(t_j - step) g_j
    (kappa_table holds -kappa) and, with ``need_t_in``, mask_g[j] = g_j on causal pairs,
    else 0."""
    for m in range(n_act):
        j = active[m]
        gj = np.float64(g_row[j])
        tj = int(to_row[j])
        coef[j] = kappa_table[tj - step + T] * gj
        if need_t_in:
            causal = tj > step or (inclusive and tj == step)
            mask_g[j] = gj if causal else 0.0


@numba.njit(**_OPTS)
def _acc_row(acc, touched, i):  # pragma: no cover - compiled
    """Row i of a chunk's dW^T accumulator, zeroed on first use (rows of inputs that never
    spike in the chunk are neither zeroed nor summed)."""
    row = acc[i]
    if touched[i] == 0:
        row[:] = 0.0
        touched[i] = 1
    return row


@numba.njit(**_OPTS)
def _grads_chunk(
    order, tsort, nspk, t_out, g, wb_t, kappa_table, inclusive, T, lo, hi, need_t_in, acc,
    touched, grad_t_in,
):  # pragma: no cover - compiled
    """Serial body of ``grads`` for samples lo..hi-1 (kept out of the prange loop so that
    LLVM vectorises it like any plain function). Samples with g == 0 are skipped; when
    few neurons have g != 0 only those are visited."""
    n_out = t_out.shape[1]
    coef = np.zeros(n_out, np.float32)
    mask_g = np.zeros(n_out, np.float64)
    active = np.empty(n_out, np.int64)
    touched[:] = 0
    for b in range(lo, hi):
        if need_t_in:
            grad_t_in[b, :] = 0.0
        g_row = g[b]
        to_row = t_out[b]
        coef[:] = 0.0
        mask_g[:] = 0.0
        n_act = 0
        for j in range(n_out):
            if g_row[j] != 0:
                active[n_act] = j
                n_act += 1
        if n_act == 0:
            continue
        n = nspk[b]
        o_row = order[b]
        ts_row = tsort[b]
        sparse = _SPARSE_RATIO * n_act < n_out
        p = 0
        while p < n:
            step = ts_row[p]
            _bin_coefs(g_row, to_row, active, n_act, kappa_table, step, T, inclusive,
                       need_t_in, coef, mask_g)
            while p < n and ts_row[p] == step:
                i = o_row[p]
                row = _acc_row(acc, touched, i)
                if sparse:
                    for m in range(n_act):
                        row[active[m]] += coef[active[m]]
                else:
                    _axpy(row, coef)
                if need_t_in:
                    wrow = wb_t[i]
                    if sparse:
                        s = 0.0
                        for m in range(n_act):
                            s += mask_g[active[m]] * wrow[active[m]]
                        grad_t_in[b, i] = s
                    else:
                        grad_t_in[b, i] = _masked_dot(mask_g, wrow)
                p += 1


@numba.njit(parallel=True, **_OPTS)
def grads(
    order, tsort, nspk, t_out, g, wb_t, kappa_table, inclusive, T, need_t_in, grad_w_t,
    extra_parts, touched, grad_t_in, n_chunks,
):  # pragma: no cover - compiled
    """Fused backward over causal (and anti-causal) spiking pairs.

    order/tsort/nspk: the sorted spiking inputs of each sample (``sort_batch``);
    t_out (B, N_out) integer-valued times (any dtype); g (B, N_out) float;
    wb_t (N_in, N_out) float32 = w_back^T; kappa_table[delta + T] (float64) holds -kappa
    for delta = t_j - t_i in [-T, T] (zero where a pair does not contribute).
    The batch is split into n_chunks = len(extra_parts) + 1 contiguous chunks, one per
    thread, each adding sum_b -kappa * g (float32) into its own (N_in, N_out) accumulator:
    chunk 0 into grad_w_t, chunk c > 0 into extra_parts[c - 1]; touched[c, i] says whether
    row i of chunk c was written (``sum_parts`` then completes grad_w_t). No two threads
    write the same memory. grad_t_in (B, N_in) float32 is written when ``need_t_in``.
    """
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, order.shape[0])
        acc = grad_w_t if c == 0 else extra_parts[c - 1]
        _grads_chunk(
            order, tsort, nspk, t_out, g, wb_t, kappa_table, inclusive, T, lo, hi,
            need_t_in, acc, touched[c], grad_t_in,
        )


@numba.njit(**_OPTS)
def grads_rows(
    order, tsort, nspk, t_out, g, wb_t, kappa_table, inclusive, T, need_t_in, grad_w_t,
    extra_parts, touched, grad_t_in, lo, hi,
):  # pragma: no cover - compiled
    """``grads`` on one thread (samples lo..hi-1 into grad_w_t, no extra parts)."""
    _grads_chunk(order, tsort, nspk, t_out, g, wb_t, kappa_table, inclusive, T, lo, hi,
                 need_t_in, grad_w_t, touched[0], grad_t_in)


@numba.njit(**_OPTS)
def sum_parts_rows(grad_w_t, extra_parts, touched, lo, hi):  # pragma: no cover - compiled
    """grad_w_t[i] += sum of the touched rows i of extra_parts, for rows lo..hi-1; rows no
    chunk touched are zeroed (see ``grads``)."""
    n_extra = extra_parts.shape[0]
    for i in range(lo, hi):
        row = grad_w_t[i]
        if touched[0, i] == 0:
            row[:] = 0.0
        for c in range(n_extra):
            if touched[c + 1, i] != 0:
                _axpy(row, extra_parts[c, i])


@numba.njit(parallel=True, **_OPTS)
def sum_parts(grad_w_t, extra_parts, touched, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, grad_w_t.shape[0])
        sum_parts_rows(grad_w_t, extra_parts, touched, lo, hi)


@numba.njit(**_OPTS)
def _early_exit_sample(t_row, weights, thresholds, T, delay, fallback, queue_ids, queue_t,
                       pots, ths, counts):  # pragma: no cover - compiled
    """One sample through every layer in global time order, stopping at the first output
    spike. Returns (prediction, decision step); see ``predict_early_exit``."""
    n_layers = len(weights)
    last_step = T - 1 - delay
    qlen = np.zeros(n_layers + 1, np.int64)
    qpos = np.zeros(n_layers + 1, np.int64)
    n0 = sort_spikes(t_row, T, queue_ids[0], queue_t[0], counts)
    if n0 < 0:
        return -2, T
    qlen[0] = n0
    for layer in range(n_layers):
        pots[layer][:] = 0
        ths[layer][:] = thresholds[layer]
    out = n_layers - 1
    for step in range(T):
        for layer in range(n_layers):
            pot = pots[layer]
            # inputs of this layer (spikes of the one below) arriving at this step
            p = q = qpos[layer]
            while q < qlen[layer] and queue_t[layer][q] == step:
                q += 1
            _add_rows(pot, weights[layer], queue_ids[layer], p, q)
            qpos[layer] = q
            if step > last_step or not (q > p or step == 0):
                continue
            th = ths[layer]
            if _max_excess(pot, th) <= 0:
                continue
            best, best_v = -1, 0
            for j in range(pot.shape[0]):
                if pot[j] > th[j]:
                    th[j] = _FIRED
                    if layer == out:
                        if best < 0 or pot[j] > best_v:
                            best, best_v = j, pot[j]
                    else:
                        queue_ids[layer + 1][qlen[layer + 1]] = j
                        queue_t[layer + 1][qlen[layer + 1]] = step + delay
                        qlen[layer + 1] += 1
            if best >= 0:
                return best, step + delay
    if fallback == 0:
        return np.argmax(pots[out]), T
    return (0 if fallback == 1 else -1), T


@numba.njit(**_OPTS)
def predict_early_exit_rows(t_in, weights, thresholds, T, delay, fallback, pred, decision,
                            lo, hi):  # pragma: no cover - compiled
    """Class decisions of a binarized network for samples lo..hi-1, simulated event by event
    across all layers and stopped at the first output spike (early exit).

    t_in (B, N_0) integer-valued times; weights: typed list of int8 (N_l-1, N_l) = sign(W)^T;
    thresholds: typed list of int32 (N_l,) floor(theta). fallback 0 = max_potential,
    1 = lowest_index, 2 = none (-1). Writes pred (B,) and decision (B,) (T if no output
    fires; then the whole window is simulated for the fallback). pred = -2 flags times
    outside [0, T]. Same decisions as the full forward followed by ``readout.decide``: the
    earliest output crossing wins, ties to the larger potential, then the lower index.
    """
    n_layers = len(weights)
    queue_ids = []
    queue_t = []
    queue_ids.append(np.empty(t_in.shape[1], np.int32))
    queue_t.append(np.empty(t_in.shape[1], np.int32))
    pots = []
    ths = []
    for layer in range(n_layers):
        n = weights[layer].shape[1]
        queue_ids.append(np.empty(n, np.int32))
        queue_t.append(np.empty(n, np.int32))
        pots.append(np.zeros(n, np.int32))
        ths.append(np.empty(n, np.int32))
    counts = np.empty(T + 1, np.int64)
    for b in range(lo, hi):
        p, d = _early_exit_sample(t_in[b], weights, thresholds, T, delay, fallback,
                                  queue_ids, queue_t, pots, ths, counts)
        pred[b] = p
        decision[b] = d


@numba.njit(parallel=True, **_OPTS)
def predict_early_exit(t_in, weights, thresholds, T, delay, fallback, pred, decision,
                       n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, t_in.shape[0])
        predict_early_exit_rows(t_in, weights, thresholds, T, delay, fallback, pred, decision,
                                lo, hi)


# The serial body of every parallel kernel: ``kernel(*args, n_chunks)`` runs
# ``body(*args, lo, hi)`` on n_chunks contiguous row ranges in parallel; on one thread the
# backend calls ``body(*args, 0, n_rows)`` directly, without entering the threading layer.
SERIAL_BODIES = {
    "sort_batch": sort_batch_rows,
    "binarize_rows": binarize_rows_rows,
    "forward_binary": forward_binary_rows,
    "forward_real": forward_real_rows,
    "grads": grads_rows,
    "sum_parts": sum_parts_rows,
    "predict_early_exit": predict_early_exit_rows,
}
