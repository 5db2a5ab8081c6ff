"""The early exit of the numba backend: class decisions of a binarized net, each sample
simulated event by event across all layers and stopped at its first output spike.

Each layer integrates its inputs with the layer walk's per-bin step
(``primitives.add_bin``), so the decisions are those of the full forward followed by
``readout.decide``; ``PRED_OUT_OF_RANGE`` flags a sample with a time outside [0, T].
"""

from __future__ import annotations

from typing import NamedTuple

import numba
import numpy as np

from bstdg.snn.backends.numba.primitives import (
    JIT_OPTS,
    Kernel,
    add_bin,
    bin_end,
    chunk_rows,
    fired_mark,
    sort_scratch,
    sort_spikes,
)

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


class Early(NamedTuple):
    """Early-exit outputs (B,) int64: class decision and decision step."""

    pred: np.ndarray
    step: np.ndarray


@numba.njit(**JIT_OPTS)
def _early_exit_sample(t_row, weights, thresholds, T, delay, fallback, queue_ids, queue_t,
                       pots, ths, scratch):  # pragma: no cover - compiled
    """One sample through every layer in global time order, stopping at the first output
    spike. Each layer integrates its inputs one time bin at a time (``add_bin``, as the
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
                qpos[layer] = bin_end(ts, p, n)
                if add_bin(pot, weights[layer], queue_ids[layer], p, qpos[layer], th,
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
                    th[j] = fired_mark(th)
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


@numba.njit(**JIT_OPTS)
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


@numba.njit(parallel=True, **JIT_OPTS)
def predict_early_exit(t_in, weights, thresholds, T, delay, fallback, res,
                       n_chunks):  # pragma: no cover - compiled
    for c in numba.prange(n_chunks):
        lo, hi = chunk_rows(c, n_chunks, t_in.shape[0])
        predict_early_exit_rows(t_in, weights, thresholds, T, delay, fallback, res, lo, hi)


EARLY_EXIT = Kernel(predict_early_exit_rows, predict_early_exit)
