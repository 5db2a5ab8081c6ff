"""The numba primitives every kernel of the numba backend is built from.

Containers of the kernels' arrays (:class:`SpikeCSR`, :class:`LayerOut`, :class:`PairTable`,
:class:`Kernel`), the per-sample sort of the spiking inputs by time (stable, so inputs of one
time bin stay in index order; times are range checked on the fly and ``TIMES_OUT_OF_RANGE``
flags a sample with a time outside [0, T]) and the per-bin integration step
(:func:`add_bin`) that the layer walk and the early exit share.

What depends on the potential's dtype is chosen at compile time
(``numba.extending.overload``): +-1 weights add int8 rows exactly into int16 or int32
potentials, real weights sum each time bin in float64 first and then add it, the
reference's rounding order. Everything is compiled with ``cache=True`` and releases the GIL;
the forward steps use strict IEEE arithmetic so spike times match the reference bit for bit.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numba
import numpy as np
from numba.core import types
from numba.extending import overload

# The options of every kernel (the forward ones need strict IEEE arithmetic).
JIT_OPTS = {"cache": True, "nogil": True, "fastmath": False}
# The walk's per-bin helpers are inlined at numba IR level: called as functions, every time
# bin paid a call with a dozen array structs, and the forward at T = 256 (one or two inputs
# per bin) ran at half the speed of the same loop written out (``bstdg-bench --quick``).
INLINE_OPTS = {**JIT_OPTS, "inline": "always"}

# nspk[b] of a sample with a spike time outside [0, T] or not an integer; the caller raises.
TIMES_OUT_OF_RANGE = -1

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


class Kernel(NamedTuple):
    """A batch kernel: ``serial(*args, lo, hi)`` runs rows lo..hi-1 on the calling thread;
    ``parallel(*args, n_chunks)`` runs it on n_chunks contiguous row ranges in a ``prange``
    (one per thread). The backend calls ``serial(*args, 0, n_rows)`` on one thread, without
    entering numba's threading layer."""

    serial: Any
    parallel: Any


@numba.njit(**JIT_OPTS)
def chunk_rows(c, n_chunks, n_rows):  # pragma: no cover - compiled
    """Rows [lo, hi) of chunk c of n_chunks equal contiguous chunks."""
    return c * n_rows // n_chunks, (c + 1) * n_rows // n_chunks


# ------------------------------------------------------------------------------ sorting


class SortScratch(NamedTuple):
    """Per-thread scratch of :func:`sort_spikes`: ``counts`` (T + 1,) int64 and the integer
    times ``ti`` (N_in,) int32."""

    counts: np.ndarray
    ti: np.ndarray


@numba.njit(**JIT_OPTS)
def sort_scratch(T, n_in):  # pragma: no cover - compiled
    return SortScratch(np.empty(T + 1, np.int64), np.empty(n_in, np.int32))


@numba.njit(**JIT_OPTS)
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


@numba.njit(**JIT_OPTS)
def sort_sample(t_in, T, csr, scratch, b):  # pragma: no cover - compiled
    """``sort_spikes`` of sample b into its CSR row; returns (and stores) n."""
    n = sort_spikes(t_in[b], T, csr.order[b], csr.tsort[b], scratch)
    csr.nspk[b] = n
    return n


# ------------------------------------------------------- thresholds and potentials by dtype


def fired_mark(th):  # pragma: no cover - typed by the overload below
    """The threshold that marks a fired neuron: no potential reaches it."""


@overload(fired_mark, jit_options={"cache": True})
def _fired_mark_impl(th):
    if isinstance(th.dtype, types.Integer):
        mark = _FIRED16 if th.dtype.bitwidth == 16 else _FIRED32
        return lambda th: mark
    return lambda th: np.inf


@numba.njit(**JIT_OPTS)
def int_thresholds(theta, thr):
    """thr = floor(theta) in the integer array thr (int16 or int32): for integer V,
    V > theta <=> V > floor(theta). Clipped to [-F, F - 1] (F = ``fired_mark(thr)``), which
    changes no decision as |V| <= N_in < F; NaN never fires. Returns thr."""
    lim = fired_mark(thr)
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


def narrow_weights(w_t):  # pragma: no cover - typed by the overload below
    """``narrow_potentials`` of +-1 weights w_t (N_in, N_out); False for real weights."""


@overload(narrow_weights, jit_options={"cache": True})
def _narrow_weights_impl(w_t):
    if isinstance(w_t.dtype, types.Integer):
        return lambda w_t: narrow_potentials(w_t.shape[0])
    return lambda w_t: False


def walk_thresholds(theta, w_t, narrow):  # pragma: no cover - typed by the overload below
    """The thresholds the walk compares potentials with: ``int_thresholds(theta)`` for int8
    (+-1) weights, in int16 if ``narrow`` (a compile-time literal) else int32; float64
    theta for real weights."""


@overload(walk_thresholds, jit_options={"cache": True})
def _walk_thresholds_impl(theta, w_t, narrow):
    if not isinstance(narrow, types.BooleanLiteral):
        return None  # numba then retries with the literal value
    if isinstance(w_t.dtype, types.Integer):
        dtype = np.int16 if narrow.literal_value else np.int32
        return lambda theta, w_t, narrow: int_thresholds(theta, np.empty(theta.shape[0], dtype))
    return lambda theta, w_t, narrow: theta.astype(np.float64)


def bin_buffer(pot):  # pragma: no cover - typed by the overload below
    """Scratch for one time bin's weight sum: none for exact integer sums."""


@overload(bin_buffer, jit_options={"cache": True})
def _bin_buffer_impl(pot):
    if isinstance(pot.dtype, types.Integer):
        return lambda pot: np.empty(0, pot.dtype)
    return lambda pot: np.empty(pot.shape[0], pot.dtype)


def add_bin(pot, w_t, ids, p, q, th, bin_sum):  # pragma: no cover - typed by the overload
    """Add the weight rows of inputs ids[p:q] (one time bin, q > p) to ``pot``; return
    max_j (pot_j - th_j), > 0 iff a neuron crosses. Integer rows go straight into the
    potential (exact); real rows are summed in input order first and the bin total is then
    added, as the reference's (t_in == step) @ W^T does, so rounding matches step for step."""


@overload(add_bin, jit_options={"cache": True}, inline="always")
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


def add_rest(pot, w_t, ids, ts, p, n, th, bin_sum):  # pragma: no cover - typed by overload
    """Integrate the inputs ids[p:n] without crossing tests (the potential at the window
    end): in one pass for integer rows, bin by bin for real ones (see ``add_bin``)."""


@overload(add_rest, jit_options={"cache": True}, inline="always")
def _add_rest_impl(pot, w_t, ids, ts, p, n, th, bin_sum):
    if isinstance(pot.dtype, types.Integer):
        return lambda pot, w_t, ids, ts, p, n, th, bin_sum: _add_rows_exact(pot, w_t, ids, p, n)

    def by_bin(pot, w_t, ids, ts, p, n, th, bin_sum):
        while p < n:
            q = bin_end(ts, p, n)
            add_bin(pot, w_t, ids, p, q, th, bin_sum)
            p = q
    return by_bin


# ------------------------------------------------------------------ adding a time bin


@numba.njit(**INLINE_OPTS)
def _add_rows(pot, w_t, order, p, q):  # pragma: no cover - compiled
    for k in range(p, q):
        row = w_t[order[k]]
        for j in range(pot.shape[0]):
            pot[j] += row[j]


@numba.njit(**INLINE_OPTS)
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


@numba.njit(**INLINE_OPTS)
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


@numba.njit(**INLINE_OPTS)
def bin_end(ts, p, n):  # pragma: no cover - compiled
    """End of the time bin that starts at p: the first q > p with ts[q] != ts[p] (or n)."""
    q = p + 1
    while q < n and ts[q] == ts[p]:
        q += 1
    return q
