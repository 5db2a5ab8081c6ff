"""Raw numba kernels of the event-driven single-spike IF layer (see ``numba_ops``).

Every kernel works on one sample's spiking inputs sorted by time (stable, so inputs of one
time bin stay in index order) and walks the non-empty time bins. Work is proportional to
the number of spiking inputs times N_out, independent of T. The forward kernel writes the
sorted lists (a per-sample CSR, :class:`SpikeCSR`) so the backward reuses them. Spike times
may be given as any integer or float dtype (integer-valued); they are range checked on the
fly (``nspk[b] = TIMES_OUT_OF_RANGE`` flags a sample with a time outside [0, T]).

One integrate-and-fire walk (:func:`_walk`) serves both weight kinds, and the early exit
integrates its layers with the same per-bin step (:func:`_add_bin`). What depends on the
potential's dtype is chosen at compile time (``numba.extending.overload``): +-1 weights add
int8 rows exactly into int32 potentials, real weights sum each time bin in float64 first
and then add it, the reference's rounding order. Each batch kernel is a :class:`Kernel`:
its serial body over rows lo..hi-1 paired with the ``prange`` kernel that runs the body on
contiguous chunks of rows.

All kernels are compiled with ``cache=True`` and release the GIL; the forward ones use
strict IEEE arithmetic so spike times match the reference bit for bit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

_OPTS = {"cache": True, "nogil": True, "fastmath": False}
# The walk's per-bin helpers are inlined at numba IR level: called as functions, every time
# bin paid a call with a dozen array structs, and the forward at T = 256 (one or two inputs
# per bin) ran at half the speed of the same loop written out (``bstdg-bench --quick``).
_WALK_OPTS = {**_OPTS, "inline": "always"}

# nspk[b] of a sample with a spike time outside [0, T] or not an integer; the caller raises.
TIMES_OUT_OF_RANGE = -1
# pred[b] of the early exit: a sample with a time outside [0, T], and a silent output under
# the fallback "none" (always wrong, as ``readout.decide``).
PRED_OUT_OF_RANGE = -2
PRED_NONE = -1
# What the early exit decides when no output fires (``readout.FALLBACKS``).
FALLBACK_MAX_POTENTIAL = 0
FALLBACK_LOWEST_INDEX = 1
FALLBACK_NONE = 2
FALLBACK_CODES = {"max_potential": FALLBACK_MAX_POTENTIAL,
                  "lowest_index": FALLBACK_LOWEST_INDEX, "none": FALLBACK_NONE}

# Above this ratio T / n (n spiking inputs) the per-sample sort switches from counting sort
# (O(n + T)) to a stable merge sort (O(n log n)).
_COUNTING_SORT_MAX_RATIO = 4
# Potentials of +-1 weights are integers with |V| <= N_in. A layer with fewer than
# NARROW_MAX_INPUTS inputs keeps them in int16 (twice the SIMD lanes of int32: a walk over
# random rows ran 1.8x faster alone, the MNIST forward no measurably faster), a wider one in
# int32. Integer thresholds are clipped to [-F, F - 1] with the
# fired marker F = 2**(bits - 2) (2**14 or 2**30; float potentials use +inf): no potential
# reaches F, V - theta never overflows, and no decision changes.
NARROW_MAX_INPUTS = 2**14
_FIRED16 = np.int16(2**14)
_FIRED32 = np.int32(2**30)
# The backward visits only the output neurons with g != 0 when fewer than 1 / _SPARSE_RATIO
# of them are (scattered scalar updates); otherwise it updates whole float32 rows (vectorised).
_SPARSE_RATIO = 16


class SpikeCSR(NamedTuple):
    """The spiking inputs of each sample sorted by time: input indices ``order[b, :n]`` and
    their times ``tsort[b, :n]`` (B, N_in) int32, with n = ``nspk[b]`` (B,) int32."""

    order: np.ndarray
    tsort: np.ndarray
    nspk: np.ndarray


class LayerOut(NamedTuple):
    """Forward outputs (B, N_out): times (any dtype), v_fire and v_end float32."""

    times: np.ndarray
    v_fire: np.ndarray
    v_end: np.ndarray


class PairTable(NamedTuple):
    """``KernelSpec.pair_table(T)`` for the backward: ``neg_weight[delta + T]`` (float64)
    = -weight and ``causal[delta + T]`` (bool) for delta = t_j - t_i in [-T, T]."""

    neg_weight: np.ndarray
    causal: np.ndarray
    T: int


class GradOut(NamedTuple):
    """Backward outputs: ``grad_w_t`` (N_in, N_out) float32 (chunk 0's accumulator),
    ``extra`` (n_chunks - 1, N_in, N_out) float32 (the other chunks'), ``touched``
    (n_chunks, N_in) uint8 (rows a chunk wrote), ``grad_t_in`` (B, N_in) float32."""

    grad_w_t: np.ndarray
    extra: np.ndarray
    touched: np.ndarray
    grad_t_in: np.ndarray


class Early(NamedTuple):
    """Early-exit outputs (B,) int64: class decision and decision step."""

    pred: np.ndarray
    step: np.ndarray


class Kernel(NamedTuple):
    """A batch kernel: ``serial(*args, lo, hi)`` runs rows lo..hi-1 on the calling thread;
    ``parallel(*args, n_chunks)`` runs it on n_chunks contiguous row ranges in a ``prange``
    (one per thread). The backend calls ``serial(*args, 0, n_rows)`` on one thread, without
    entering numba's threading layer."""

    serial: Any
    parallel: Any


@numba.njit(**_OPTS)
def _chunk(c, n_chunks, n_rows):  # pragma: no cover - compiled
    """Rows [lo, hi) of chunk c of n_chunks equal contiguous chunks."""
    return c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks


# ------------------------------------------------------------------------------ sorting


class SortScratch(NamedTuple):
    """Per-thread scratch of :func:`sort_spikes`: ``counts`` (T + 1,) int64 and the integer
    times ``ti`` (N_in,) int32."""

    counts: np.ndarray
    ti: np.ndarray


@numba.njit(**_OPTS)
def sort_scratch(T, n_in):  # pragma: no cover - compiled
    return SortScratch(np.empty(T + 1, np.int64), np.empty(n_in, np.int32))


@numba.njit(**_OPTS)
def sort_spikes(t_row, T, order, times, scratch):  # pragma: no cover - compiled
    """Stable sort of the spiking inputs (t < T) of one sample by time.

    Writes the input indices to ``order[:n]`` and their times to ``times[:n]``; returns n,
    or TIMES_OUT_OF_RANGE if a time lies outside [0, T] or is not an integer (NaN, 2.5). A
    first branch-free pass (it vectorises) checks the times and writes them as integers to
    ``scratch.ti`` (T for an invalid one); the spiking inputs are then gathered
    (branch-free) into ``times``, so the counting sort touches only them: O(N_in + n + T),
    or O(N_in + n log n) by merge sort when T is large against n.
    """
    ti = scratch.ti
    ok = True
    for i in range(t_row.shape[0]):
        x = t_row[i]
        good = (x >= 0) & (x <= T) & (np.floor(x) == x)
        ok &= good
        ti[i] = np.int32(x) if good else np.int32(T)
    if not ok:
        return TIMES_OUT_OF_RANGE
    n = 0
    for i in range(t_row.shape[0]):
        times[n] = i
        n += ti[i] < T
    if n == 0:
        return 0
    if T > _COUNTING_SORT_MAX_RATIO * n:
        spk_t = np.empty(n, np.int64)
        for k in range(n):
            spk_t[k] = ti[times[k]]
        perm = np.argsort(spk_t, kind="mergesort")
        for k in range(n):
            order[k] = times[perm[k]]
        for k in range(n):
            times[k] = spk_t[perm[k]]
        return n
    counts = scratch.counts
    counts[:T] = 0
    for k in range(n):
        counts[ti[times[k]]] += 1
    start = 0
    for t in range(T):
        c = counts[t]
        counts[t] = start
        start += c
    for k in range(n):
        i = times[k]
        pos = counts[ti[i]]
        order[pos] = i
        counts[ti[i]] = pos + 1
    for k in range(n):
        times[k] = ti[order[k]]
    return n


@numba.njit(**_OPTS)
def _sort_sample(t_in, T, csr, scratch, b):  # pragma: no cover - compiled
    """``sort_spikes`` of sample b into its CSR row; returns (and stores) n."""
    n = sort_spikes(t_in[b], T, csr.order[b], csr.tsort[b], scratch)
    csr.nspk[b] = n
    return n


@numba.njit(**_OPTS)
def sort_batch_rows(t_in, T, csr, lo, hi):  # pragma: no cover - compiled
    """The CSR of samples lo..hi-1 (the one the forward kernel also writes)."""
    scratch = sort_scratch(T, t_in.shape[1])
    for b in range(lo, hi):
        _sort_sample(t_in, T, csr, scratch, b)


@numba.njit(parallel=True, **_OPTS)
def sort_batch(t_in, T, csr, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, t_in.shape[0])
        sort_batch_rows(t_in, T, csr, lo, hi)


SORT_BATCH = Kernel(sort_batch_rows, sort_batch)


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


BINARIZE = Kernel(binarize_rows_rows, binarize_rows)


def _fired(th):  # pragma: no cover - typed by the overload below
    """The threshold that marks a fired neuron: no potential reaches it."""


@overload(_fired, jit_options={"cache": True})
def _fired_impl(th):
    if isinstance(th.dtype, types.Integer):
        mark = _FIRED16 if th.dtype.bitwidth == 16 else _FIRED32
        return lambda th: mark
    return lambda th: np.inf


@numba.njit(**_OPTS)
def int_thresholds(theta, thr):
    """thr = floor(theta) in the integer array thr (int16 or int32): for integer V,
    V > theta <=> V > floor(theta). Clipped to [-F, F - 1] (F = ``_fired(thr)``), which
    changes no decision as |V| <= N_in < F; NaN never fires. Returns thr."""
    lim = _fired(thr)
    for j in range(theta.shape[0]):
        x = theta[j]
        if not (x < lim - 1.0):
            thr[j] = lim - 1
        elif x <= -float(lim):
            thr[j] = -lim
        else:
            thr[j] = np.floor(x)
    return thr


@numba.njit(cache=True)
def narrow_potentials(n_inputs):  # pragma: no cover - compiled
    """Whether the +-1 potentials of a layer with n_inputs inputs fit int16 (the forward's
    and the early exit's rule)."""
    return n_inputs < NARROW_MAX_INPUTS


def _narrow(w_t):  # pragma: no cover - typed by the overload below
    """``narrow_potentials`` of +-1 weights w_t (N_in, N_out); False for real weights."""


@overload(_narrow, jit_options={"cache": True})
def _narrow_impl(w_t):
    if isinstance(w_t.dtype, types.Integer):
        return lambda w_t: narrow_potentials(w_t.shape[0])
    return lambda w_t: False


def _thresholds(theta, w_t, narrow):  # pragma: no cover - typed by the overload below
    """The thresholds the walk compares potentials with: ``int_thresholds(theta)`` for int8
    (+-1) weights, in int16 if ``narrow`` (a compile-time literal) else int32; float64
    theta for real weights."""


@overload(_thresholds, jit_options={"cache": True})
def _thresholds_impl(theta, w_t, narrow):
    if not isinstance(narrow, types.BooleanLiteral):
        return None  # numba then retries with the literal value
    if isinstance(w_t.dtype, types.Integer):
        dtype = np.int16 if narrow.literal_value else np.int32
        return lambda theta, w_t, narrow: int_thresholds(theta, np.empty(theta.shape[0], dtype))
    return lambda theta, w_t, narrow: theta.astype(np.float64)


def _bin_buffer(pot):  # pragma: no cover - typed by the overload below
    """Scratch for one time bin's weight sum: none for exact integer sums."""


@overload(_bin_buffer, jit_options={"cache": True})
def _bin_buffer_impl(pot):
    if isinstance(pot.dtype, types.Integer):
        return lambda pot: np.empty(0, pot.dtype)
    return lambda pot: np.empty(pot.shape[0], pot.dtype)


def _add_bin(pot, w_t, ids, p, q, th, bin_sum):  # pragma: no cover - typed by the overload
    """Add the weight rows of inputs ids[p:q] (one time bin, q > p) to ``pot``; return
    max_j (pot_j - th_j), > 0 iff a neuron crosses. Integer rows go straight into the
    potential (exact); real rows are summed in input order first and the bin total is then
    added, as the reference's (t_in == step) @ W^T does, so rounding matches step for step."""


@overload(_add_bin, jit_options={"cache": True}, inline="always")
def _add_bin_impl(pot, w_t, ids, p, q, th, bin_sum):
    if isinstance(pot.dtype, types.Integer):
        def exact(pot, w_t, ids, p, q, th, bin_sum):
            _add_rows_exact(pot, w_t, ids, p, q - 1)
            return _add_row_excess(pot, w_t[ids[q - 1]], th)
        return exact

    def rounded(pot, w_t, ids, p, q, th, bin_sum):
        bin_sum[:] = 0.0
        _add_rows(bin_sum, w_t, ids, p, q)
        return _add_row_excess(pot, bin_sum, th)
    return rounded


def _add_rest(pot, w_t, ids, ts, p, n, th, bin_sum):  # pragma: no cover - typed by overload
    """Integrate the inputs ids[p:n] without crossing tests (the potential at the window
    end): in one pass for integer rows, bin by bin for real ones (see ``_add_bin``)."""


@overload(_add_rest, jit_options={"cache": True}, inline="always")
def _add_rest_impl(pot, w_t, ids, ts, p, n, th, bin_sum):
    if isinstance(pot.dtype, types.Integer):
        return lambda pot, w_t, ids, ts, p, n, th, bin_sum: _add_rows_exact(pot, w_t, ids, p, n)

    def by_bin(pot, w_t, ids, ts, p, n, th, bin_sum):
        while p < n:
            q = _bin_end(ts, p, n)
            _add_bin(pot, w_t, ids, p, q, th, bin_sum)
            p = q
    return by_bin


# ------------------------------------------------------------- the integrate-and-fire walk


@numba.njit(**_WALK_OPTS)
def _add_rows(pot, w_t, order, p, q):  # pragma: no cover - compiled
    for k in range(p, q):
        row = w_t[order[k]]
        for j in range(pot.shape[0]):
            pot[j] += row[j]


@numba.njit(**_WALK_OPTS)
def _add_rows_exact(pot, w_t, order, p, q):  # pragma: no cover - compiled
    """pot += the integer rows order[p:q], four rows per pass over ``pot``: the sums are
    exact, so the order is free, and the potential is loaded and stored a quarter as often
    (bins of 5-20 random rows added 1.3-1.7x faster than row by row)."""
    acc = pot.dtype.type
    k = p
    while k + 4 <= q:
        r0, r1, r2, r3 = w_t[order[k]], w_t[order[k + 1]], w_t[order[k + 2]], w_t[order[k + 3]]
        for j in range(pot.shape[0]):
            pot[j] += acc(acc(r0[j] + r1[j]) + acc(r2[j] + r3[j]))
        k += 4
    _add_rows(pot, w_t, order, k, q)


@numba.njit(**_WALK_OPTS)
def _add_row_excess(pot, row, thr):  # pragma: no cover - compiled
    """pot += row; return max(0, max_j (pot_j - thr_j)) (> 0 iff a neuron crosses). In the
    potential's dtype throughout (int16 or int32 for +-1 weights), so that the loop
    vectorises (about 3x faster than counting the hits)."""
    m = pot.dtype.type(0)
    for j in range(pot.shape[0]):
        v = pot.dtype.type(pot[j] + row[j])
        pot[j] = v
        d = pot.dtype.type(v - thr[j])
        m = d if d > m else m
    return m


@numba.njit(**_WALK_OPTS)
def _fire_check(pot, thr, step, delay, t_row, v_row):  # pragma: no cover - compiled
    """Fire the neurons with pot > thr (fired ones have thr = ``_fired``): t = step + delay,
    v_fire = pot. Returns how many fired. Branch-free (selects), so the loop vectorises."""
    fired = np.int32(0)
    t_fire = t_row.dtype.type(step + delay)
    mark = _fired(thr)
    for j in range(pot.shape[0]):
        v = pot[j]
        c = v > thr[j]
        t_row[j] = t_fire if c else t_row[j]
        v_row[j] = np.float32(v) if c else v_row[j]
        thr[j] = mark if c else thr[j]
        fired += np.int32(c)
    return fired


@numba.njit(**_WALK_OPTS)
def _bin_end(ts, p, n):  # pragma: no cover - compiled
    """End of the time bin that starts at p: the first q > p with ts[q] != ts[p] (or n)."""
    q = p + 1
    while q < n and ts[q] == ts[p]:
        q += 1
    return q


@numba.njit(**_OPTS)
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
        q = _bin_end(ts, p, n)
        if _add_bin(pot, w_t, ids, p, q, thr, bin_sum) > 0:
            remaining -= _fire_check(pot, thr, ts[p], delay, t_row, v_row)
        p = q
    _add_rest(pot, w_t, ids, ts, p, n, thr, bin_sum)


# -------------------------------------------------------------------------------- forward


@numba.njit(**_OPTS)
def forward_rows(t_in, w_t, theta, T, delay, out, csr, lo, hi):  # pragma: no cover
    """Forward pass of samples lo..hi-1.

    t_in (B, N_in) integer-valued times (any dtype); w_t (N_in, N_out) = w_hat^T, int8 for
    +-1 weights (exact int16 or int32 potentials, see ``NARROW_MAX_INPUTS``; theta compared
    as ``int_thresholds(theta)``) or float64 (float64 potentials, like the reference); theta
    (N_out,) float. Writes ``out`` (:class:`LayerOut`) and the sorted spiking inputs ``csr``
    (:class:`SpikeCSR`).
    """
    if _narrow(w_t):
        _forward_samples(t_in, w_t, _thresholds(theta, w_t, True), T, delay, out, csr, lo, hi)
    else:
        _forward_samples(t_in, w_t, _thresholds(theta, w_t, False), T, delay, out, csr, lo, hi)


@numba.njit(**_OPTS)
def _forward_samples(t_in, w_t, thr, T, delay, out, csr, lo, hi):  # pragma: no cover
    """``forward_rows`` with the thresholds ``thr`` in the potential's dtype."""
    n_out = w_t.shape[1]
    last_step = T - 1 - delay
    scratch = sort_scratch(T, t_in.shape[1])
    pot = np.empty(n_out, thr.dtype)
    th = np.empty(n_out, thr.dtype)
    bin_sum = _bin_buffer(pot)
    for b in range(lo, hi):
        n = _sort_sample(t_in, T, csr, scratch, b)
        out.times[b, :] = T
        if n >= 0:
            forward_sample(w_t, thr, T, delay, last_step, csr, b, n, pot, th, bin_sum, out)


@numba.njit(**_OPTS)
def forward_sample(w_t, thr, T, delay, last_step, csr, b, n, pot, th, bin_sum,
                   out):  # pragma: no cover - compiled
    """Sample b (its n sorted inputs in ``csr``, its ``out.times`` row preset to T) through
    one layer: spike times, v_fire (the window-end potential where no spike) and v_end.
    ``pot``, ``th`` and ``bin_sum`` are scratch (``_bin_buffer``)."""
    t_row, v_row = out.times[b], out.v_fire[b]
    pot[:] = 0
    th[:] = thr
    _walk(w_t, csr.order[b], csr.tsort[b], n, pot, th, bin_sum, delay, last_step, t_row, v_row)
    for j in range(pot.shape[0]):
        out.v_end[b, j] = pot[j]
        if t_row[j] == T:
            v_row[j] = pot[j]


@numba.njit(parallel=True, **_OPTS)
def forward(t_in, w_t, theta, T, delay, out, csr, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, t_in.shape[0])
        forward_rows(t_in, w_t, theta, T, delay, out, csr, lo, hi)


FORWARD = Kernel(forward_rows, forward)


# ------------------------------------------------------------------------------- backward


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


@numba.njit(**_OPTS)
def grads_scratch(n_out):  # pragma: no cover - compiled
    return GradsScratch(np.zeros(n_out, np.float32), np.zeros(n_out, np.float64),
                        np.empty(n_out, np.int64))


@numba.njit(**_OPTS)
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
                _axpy(row, coef)
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


@numba.njit(**_OPTS)
def grads_rows(csr, t_out, g, wb_t, pairs, need_t_in, out, lo, hi):  # pragma: no cover
    """``grads`` on one thread: samples lo..hi-1 into out.grad_w_t (no extra parts)."""
    _grads_chunk(csr, t_out, g, wb_t, pairs, need_t_in, out.grad_w_t, out.touched[0],
                 out.grad_t_in, lo, hi)


@numba.njit(parallel=True, **_OPTS)
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
        lo, hi = _chunk(c, n_chunks, csr.nspk.shape[0])
        acc = out.grad_w_t if c == 0 else out.extra[c - 1]
        _grads_chunk(csr, t_out, g, wb_t, pairs, need_t_in, acc, out.touched[c],
                     out.grad_t_in, lo, hi)


GRADS = Kernel(grads_rows, grads)


@numba.njit(**_OPTS)
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
                _axpy(row, out.extra[c, i])


@numba.njit(parallel=True, **_OPTS)
def sum_parts(out, n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, out.grad_w_t.shape[0])
        sum_parts_rows(out, lo, hi)


SUM_PARTS = Kernel(sum_parts_rows, sum_parts)


# ----------------------------------------------------------------------------- early exit


@numba.njit(**_OPTS)
def _early_exit_sample(t_row, weights, thresholds, T, delay, fallback, queue_ids, queue_t,
                       pots, ths, scratch):  # pragma: no cover - compiled
    """One sample through every layer in global time order, stopping at the first output
    spike. Each layer integrates its inputs one time bin at a time (``_add_bin``, as the
    walk does) at the steps where it has any; the spikes of a layer queue up (in time, then
    index order) as the inputs of the next. Returns (prediction, decision step); see
    ``predict_early_exit``."""
    n_layers = len(weights)
    last_step = T - 1 - delay
    qlen = np.zeros(n_layers + 1, np.int64)
    qpos = np.zeros(n_layers + 1, np.int64)
    n0 = sort_spikes(t_row, T, queue_ids[0], queue_t[0], scratch)
    if n0 < 0:
        return PRED_OUT_OF_RANGE, T
    qlen[0] = n0
    for layer in range(n_layers):
        pots[layer][:] = 0
        ths[layer][:] = thresholds[layer]
    no_bin = np.empty(0, np.int32)
    out = n_layers - 1
    step = 0
    while step < T:
        for layer in range(n_layers):
            ts, p, n = queue_t[layer], qpos[layer], qlen[layer]
            pot, th = pots[layer], ths[layer]
            if p < n and ts[p] == step:
                qpos[layer] = _bin_end(ts, p, n)
                if _add_bin(pot, weights[layer], queue_ids[layer], p, qpos[layer], th,
                            no_bin) <= 0:
                    continue
            elif step > 0:
                continue  # no input at this step: nothing changes, nothing crosses
            if step > last_step:
                continue
            # fire the crossing neurons: the earliest output decides (larger V, then lower
            # j); a hidden neuron queues as an input of the next layer at step + delay
            t_fire = step + delay
            best = -1
            nxt = layer + 1
            for j in range(pot.shape[0]):
                if pot[j] > th[j]:
                    th[j] = _fired(th)
                    if layer < out:
                        queue_ids[nxt][qlen[nxt]] = j
                        queue_t[nxt][qlen[nxt]] = t_fire
                        qlen[nxt] += 1
                    elif best < 0 or pot[j] > pot[best]:
                        best = j
            if best >= 0:
                return best, t_fire
        # on to the next step with an input anywhere (spikes queue at >= this step, and a
        # layer queued at this step by the one below has run it already)
        next_step = T
        for layer in range(n_layers):
            if qpos[layer] < qlen[layer]:
                next_step = min(next_step, queue_t[layer][qpos[layer]])
        step = max(step + 1, next_step)
    if fallback == FALLBACK_MAX_POTENTIAL:
        return np.argmax(pots[out]), T
    return (0 if fallback == FALLBACK_LOWEST_INDEX else PRED_NONE), T


@numba.njit(**_OPTS)
def predict_early_exit_rows(t_in, weights, thresholds, T, delay, fallback, res, lo,
                            hi):  # pragma: no cover - compiled
    """Class decisions of a binarized network for samples lo..hi-1, simulated event by event
    across all layers and stopped at the first output spike (early exit).

    t_in (B, N_0) integer-valued times; weights: typed list of int8 (N_l-1, N_l) = sign(W)^T;
    thresholds: typed list of (N_l,) ``int_thresholds(theta)``, all int16 or all int32 (the
    potentials' dtype); fallback one of the FALLBACK_* codes. Writes res.pred and res.step
    (:class:`Early`; step T if no output fires, then the whole window is simulated for the
    fallback). res.pred = PRED_OUT_OF_RANGE flags
    times outside [0, T]. Same decisions as the full forward followed by
    ``readout.decide``: the earliest output crossing wins, ties to the larger potential,
    then the lower index.
    """
    n_layers = len(weights)
    queue_ids = [np.empty(t_in.shape[1], np.int32)]
    queue_t = [np.empty(t_in.shape[1], np.int32)]
    pots = []
    ths = []
    for layer in range(n_layers):
        n = weights[layer].shape[1]
        queue_ids.append(np.empty(n, np.int32))
        queue_t.append(np.empty(n, np.int32))
        pots.append(np.zeros(n, thresholds[layer].dtype))
        ths.append(np.empty(n, thresholds[layer].dtype))
    scratch = sort_scratch(T, t_in.shape[1])
    # the typed lists' items copied into plain lists once: a typed-list item costs a call
    # (about 65 ns here), paid at every time bin of every sample otherwise (8 % of the time)
    ws = [weights[0]]
    tl = [thresholds[0]]
    for layer in range(1, n_layers):
        ws.append(weights[layer])
        tl.append(thresholds[layer])
    for b in range(lo, hi):
        res.pred[b], res.step[b] = _early_exit_sample(
            t_in[b], ws, tl, T, delay, fallback, queue_ids, queue_t, pots, ths, scratch,
        )


@numba.njit(parallel=True, **_OPTS)
def predict_early_exit(t_in, weights, thresholds, T, delay, fallback, res,
                       n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = _chunk(c, n_chunks, t_in.shape[0])
        predict_early_exit_rows(t_in, weights, thresholds, T, delay, fallback, res, lo, hi)


EARLY_EXIT = Kernel(predict_early_exit_rows, predict_early_exit)
