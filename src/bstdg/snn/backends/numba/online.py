"""Per-sample (online) SGD of a whole net in one kernel call: for each sample of a batch in
order, forward, loss gradient, backward, the SGD update, BS4NN's ``fact`` rule and the
latent clip, so that B samples cost one launch instead of B Lightning steps.

The arithmetic is the batch-1 training step's as the platform runs it (numba layer kernels,
torch's float32 ops, ``torch.optim.SGD``), so that B samples here give the spike times and,
to float rounding, the weights of B batch-1 steps (``tests/snn/test_online.py``):

* per-sample normalisation g = G / ||G|| with ||G|| summed in float32 as torch's CPU norm of
  a last dimension sums it (:func:`torch_norm32`);
* the SGD step as torch's vectorised ``add`` does it, one fused multiply-add per op
  (:func:`fma32`): d = fma(w, wd, dL/dw) (weight decay), w <- fma(d, -lr, w); the lookahead
  weights of the error passed down, W - eta dL/dW, likewise;
* ``fact`` in float64, its sum over the weights in another order than torch's (the only
  difference, at float64 rounding).

Per-sample forward and backward are the layer kernels' own steps (``forward_sample``,
``grads_sample``; the first layer's gradient goes straight into its update,
:func:`_sgd_direct`), on one thread.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import types
from numba.extending import intrinsic, overload

from bstdg.snn.backends.numba.layer_kernels import GradsScratch, forward_sample, grads_sample
from bstdg.snn.backends.numba.primitives import (
    JIT_OPTS,
    TIMES_OUT_OF_RANGE,
    LayerOut,
    SpikeCSR,
    bin_buffer,
    int_thresholds,
    narrow_weights,
    sort_scratch,
    sort_spikes,
    walk_thresholds,
)

# target variants of ``losses.relative_targets`` by code
TARGET_CODES = {"s4nn": 0, "bs4nn": 1, "sstdp": 2}


@intrinsic
def fma32(typingctx, a, b, c):  # pragma: no cover - compiled
    """float32 a * b + c with one rounding (LLVM's ``llvm.fma.f32``)."""
    sig = types.float32(types.float32, types.float32, types.float32)

    def codegen(context, builder, signature, args):
        flt = ir.FloatType()
        fn = builder.module.declare_intrinsic("llvm.fma", [flt],
                                              ir.FunctionType(flt, [flt, flt, flt]))
        return builder.call(fn, args)

    return sig, codegen


@numba.njit(**JIT_OPTS)
def torch_norm32(x):  # pragma: no cover - compiled
    """||x||_2 of a float32 vector summed as torch's CPU float32 norm over a last dimension
    sums it: 8 lane accumulators of rounded squares over the first n - n % 8 entries, the
    lanes added in order, then the rest in blocks of 4 rounded squares added in order and the
    last n % 4 by fused multiply-add; the square root in float32."""
    n = x.shape[0]
    acc = np.zeros(8, np.float32)
    d = 0
    while d < n - n % 8:
        for lane in range(8):
            v = x[d + lane]
            acc[lane] = np.float32(acc[lane] + np.float32(v * v))
        d += 8
    s = acc[0]
    for lane in range(1, 8):
        s = np.float32(s + acc[lane])
    while d + 4 <= n:
        for k in range(4):
            v = x[d + k]
            s = np.float32(s + np.float32(v * v))
        d += 4
    while d < n:
        s = fma32(x[d], x[d], s)
        d += 1
    return np.float32(np.sqrt(s))


def refresh_thresholds(theta, thr):  # pragma: no cover - typed by the overload below
    """thr = the walk's thresholds of float64 ``theta`` (``walk_thresholds``), in place."""


@overload(refresh_thresholds, jit_options={"cache": True})
def _refresh_thresholds_impl(theta, thr):
    if isinstance(thr.dtype, types.Integer):
        return lambda theta, thr: int_thresholds(theta, thr)

    def copy(theta, thr):
        thr[:] = theta
    return copy


@numba.njit(**JIT_OPTS)
def _target_grad(t, label, T, code, gamma, grad_scale, err):  # pragma: no cover
    """``losses.relative_targets_numpy`` of one sample and dL/dt = (t - target) * grad_scale
    into ``err`` (float32, as the numpy loss); returns sum (t - target)^2."""
    K = t.shape[0]
    tau = t[0]
    for k in range(1, K):
        tau = min(tau, t[k])
    silent = tau == T
    g32 = np.float32(gamma)
    T32 = np.float32(T)
    target = np.empty(K, np.float32)
    if code == 2:
        if silent:
            tau = np.float32(T - gamma)
        for k in range(K):
            target[k] = min(max(t[k], np.float32(tau + g32)), T32)
    else:
        push = min(np.float32(tau + g32), T32)
        for k in range(K):
            target[k] = push if np.float32(t[k] - tau) < g32 else t[k]
    target[label] = tau
    if code != 2 and silent:
        target[:] = T32
        if code == 0:
            target[label] = np.float32(T - gamma)
    sq = 0.0
    for k in range(K):
        diff = np.float32(t[k] - target[k])
        sq += np.float64(diff) * np.float64(diff)
        err[k] = np.float32(diff * grad_scale)
    return sq


@numba.njit(**JIT_OPTS)
def _upstream(err, normalize, eps, g):  # pragma: no cover - compiled
    """``GradientRule.upstream`` of one sample of a batch of 1 (float32, torch's norm)."""
    if not normalize:
        g[:] = err
        return
    norm = torch_norm32(err)
    norm = np.float32(norm + np.float32(eps)) if norm > 0 else np.float32(1.0)
    for j in range(err.shape[0]):
        g[j] = np.float32(err[j] / norm)


@numba.njit(**JIT_OPTS)
def _potential_at(w, ids, ts, n, step, out):  # pragma: no cover - compiled
    """out_j = sum_i w_ji [t_i <= step] over the sorted inputs, float64 sums, float32 out."""
    acc = np.zeros(out.shape[0], np.float64)
    for p in range(n):
        if ts[p] > step:
            break
        row = w[ids[p]]
        for j in range(acc.shape[0]):
            acc[j] += row[j]
    for j in range(acc.shape[0]):
        out[j] = np.float32(acc[j])


def _fwd_value(v, fwd):  # pragma: no cover - typed by the overload below
    """The forward weight of latent v in the rows ``fwd``: sign (int8) or float64."""


@overload(_fwd_value, jit_options={"cache": True})
def _fwd_value_impl(v, fwd):
    if isinstance(fwd.dtype, types.Integer):
        return lambda v, fwd: np.int8(1) if v >= 0 else np.int8(-1)
    return lambda v, fwd: np.float64(v)


@numba.njit(**JIT_OPTS)
def _sgd_rows(w, w_fwd, grad, touched, wd, neg_lr, sign_acc):  # pragma: no cover - compiled
    """torch.optim.SGD's step on the rows of w^T: d = fma(w, wd, dL/dw) when wd != 0 (every
    row then moves), w <- fma(d, -lr, w) (rows with dL/dw = 0 stay put without decay); the
    forward rows ``w_fwd`` follow (sign(w), sign(0) = +1, for int8 rows). With a non-empty
    ``sign_acc`` (N_out,) float64, sign_acc_j += dL/dw_ji sign(w_ji) (new w, sign(0) = 0):
    BS4NN's fact sum, per output so that the loop vectorises."""
    want_sum = sign_acc.shape[0] > 0
    zero = np.float32(0.0)
    for i in range(w.shape[0]):
        row, fwd, grow = w[i], w_fwd[i], grad[i]
        if touched[i]:
            if wd != 0:
                for j in range(row.shape[0]):
                    v = fma32(fma32(row[j], wd, grow[j]), neg_lr, row[j])
                    row[j] = v
                    fwd[j] = _fwd_value(v, fwd)
            else:
                for j in range(row.shape[0]):
                    v = fma32(grow[j], neg_lr, row[j])
                    row[j] = v
                    fwd[j] = _fwd_value(v, fwd)
            if want_sum:
                for j in range(row.shape[0]):
                    x = row[j]
                    sign = np.float32(x > 0) - np.float32(x < 0)
                    sign_acc[j] += np.float64(grow[j] * sign)
        elif wd != 0:
            for j in range(row.shape[0]):
                v = fma32(fma32(row[j], wd, zero), neg_lr, row[j])
                row[j] = v
                fwd[j] = _fwd_value(v, fwd)


@numba.njit(**JIT_OPTS)
def _sgd_direct(ids, ts, n, t_out, g, pairs, w, w_fwd, wd, neg_lr, spiking, coef,
                sign_acc):  # pragma: no cover - compiled
    """``grads_sample`` and :func:`_sgd_rows` in one pass over the sorted inputs, for a layer
    whose dL/dW is needed by nothing else (the first): the row of input i (time bin s) gets
    dL/dw_ji = coef_j = float32(-weight(t_j - s) g_j), the value ``grads_sample`` writes, and
    moves at once, without a gradient matrix to write and read back; without weight decay, a
    time bin whose coef is all zero (no causal output with an error, e.g. BS4NN's black
    pixels at T - 1) leaves its rows as they are (fma(0, -lr, w) = w). ``spiking`` (N_in,)
    uint8 is set to the inputs that spiked (the rows a gradient touches)."""
    want_sum = sign_acc.shape[0] > 0
    n_out = t_out.shape[0]
    spiking[:] = 0
    p = 0
    while p < n:
        step = ts[p]
        moving = False
        for j in range(n_out):
            d = int(t_out[j]) - step + pairs.T
            coef[j] = pairs.neg_weight[d] * np.float64(g[j])
            moving |= coef[j] != 0
        while p < n and ts[p] == step:
            i = ids[p]
            spiking[i] = 1
            if not (moving or wd != 0):  # dL/dw = 0 on the whole row: w stays w
                p += 1
                continue
            row, fwd = w[i], w_fwd[i]
            if wd != 0:
                for j in range(n_out):
                    v = fma32(fma32(row[j], wd, coef[j]), neg_lr, row[j])
                    row[j] = v
                    fwd[j] = _fwd_value(v, fwd)
            else:
                for j in range(n_out):
                    v = fma32(coef[j], neg_lr, row[j])
                    row[j] = v
                    fwd[j] = _fwd_value(v, fwd)
            if want_sum:
                for j in range(n_out):
                    x = row[j]
                    sign = np.float32(x > 0) - np.float32(x < 0)
                    sign_acc[j] += np.float64(coef[j] * sign)
            p += 1
    if wd != 0:
        zero = np.float32(0.0)
        for i in range(w.shape[0]):
            if not spiking[i]:
                row, fwd = w[i], w_fwd[i]
                for j in range(n_out):
                    v = fma32(fma32(row[j], wd, zero), neg_lr, row[j])
                    row[j] = v
                    fwd[j] = _fwd_value(v, fwd)


@numba.njit(**JIT_OPTS)
def _clip_rows(w, w_fwd, touched, all_rows, clip):  # pragma: no cover - compiled
    """w <- clamp(w, -clip, clip) on the touched rows (or all), the forward rows following."""
    for i in range(w.shape[0]):
        if not (all_rows or touched[i]):
            continue
        row, fwd = w[i], w_fwd[i]
        for j in range(row.shape[0]):
            v = min(max(row[j], np.float32(-clip)), clip)
            row[j] = v
            fwd[j] = _fwd_value(v, fwd)




@numba.njit(**JIT_OPTS)
def online_steps(t_in, labels, w, w_fwd, theta, fact, opts, pairs, rec):  # pragma: no cover
    """Train on the samples of ``t_in`` (B, N_0) float32 in order, one SGD step each.

    w: tuple of latent w^T (N_l-1, N_l) float32, updated in place; w_fwd: their forward rows
    (int8 signs or float64), kept in step; theta: tuple of (N_l,) float64 thresholds (the
    float32 values); fact: (L,) float64, BS4NN's scales (updated when ``opts.fact_lr`` is
    not empty); opts: :class:`~bstdg.snn.online.OnlineOptions` as arrays; pairs: the rule's
    PairTable; rec: :class:`~bstdg.snn.online.OnlineRecord` arrays, written. Returns 0, or
    ``TIMES_OUT_OF_RANGE`` at a sample with an input time outside [0, T] (the caller
    raises).
    """
    narrow = True
    for layer in range(len(w)):
        narrow &= narrow_weights(w_fwd[layer])
    if narrow:
        thr = [walk_thresholds(theta[layer], w_fwd[layer], True) for layer in range(len(w))]
        return _samples(t_in, labels, w, w_fwd, theta, fact, thr, opts, pairs, rec)
    thr = [walk_thresholds(theta[layer], w_fwd[layer], False) for layer in range(len(w))]
    return _samples(t_in, labels, w, w_fwd, theta, fact, thr, opts, pairs, rec)


@numba.njit(**JIT_OPTS)
def _samples(t_in, labels, w, w_fwd, theta, fact, thr, opts, pairs, rec):  # pragma: no cover
    n_layers = len(w)
    T, delay = opts.T, opts.delay
    last_step = T - 1 - delay
    # per layer: the sorted inputs and the outputs of the current sample (lists of arrays;
    # the namedtuples the layer kernels take are built around them at each call)
    order = [np.empty((1, w[k].shape[0]), np.int32) for k in range(n_layers)]
    tsort = [np.empty((1, w[k].shape[0]), np.int32) for k in range(n_layers)]
    nspk = [np.zeros(1, np.int32) for k in range(n_layers)]
    o_t = [np.empty((1, w[k].shape[1]), np.float32) for k in range(n_layers)]
    o_vf = [np.empty((1, w[k].shape[1]), np.float32) for k in range(n_layers)]
    o_ve = [np.empty((1, w[k].shape[1]), np.float32) for k in range(n_layers)]
    scratch = [sort_scratch(T, w[k].shape[0]) for k in range(n_layers)]
    pots = [np.empty(w[k].shape[1], thr[0].dtype) for k in range(n_layers)]
    ths = [np.empty(w[k].shape[1], thr[0].dtype) for k in range(n_layers)]
    bins = [bin_buffer(pots[k]) for k in range(n_layers)]
    # the gradient matrices of the layers above the first (the first needs none)
    grad = [np.zeros(w[k].shape if k else (0, 0), np.float32) for k in range(n_layers)]
    spare = [np.zeros(w[k].shape if k else (0, 0), np.float32) for k in range(n_layers)]
    moved = [np.zeros(w[k].shape if k else (0, 0), np.float32) for k in range(n_layers)]
    touched = [np.zeros(w[k].shape[0], np.uint8) for k in range(n_layers)]
    spare_touched = [np.zeros(w[k].shape[0], np.uint8) for k in range(n_layers)]
    coef = [np.zeros(w[k].shape[1], np.float32) for k in range(n_layers)]
    mask_g = [np.zeros(w[k].shape[1], np.float64) for k in range(n_layers)]
    active = [np.empty(w[k].shape[1], np.int64) for k in range(n_layers)]
    errs = [np.zeros(w[k].shape[1], np.float32) for k in range(n_layers)]
    gs = [np.zeros(w[k].shape[1], np.float32) for k in range(n_layers)]
    no_row = np.empty(0, np.float32)
    use_fact = opts.fact_lr.shape[0] > 0
    sign_acc = [np.zeros(w[k].shape[1] if use_fact else 0, np.float64)
                for k in range(n_layers)]
    for b in range(t_in.shape[0]):
        for k in range(n_layers):  # forward
            src = t_in[b] if k == 0 else o_t[k - 1][0]
            n = sort_spikes(src, T, order[k][0], tsort[k][0], scratch[k])
            if n < 0:
                return TIMES_OUT_OF_RANGE
            nspk[k][0] = n
            o_t[k][0, :] = T
            forward_sample(w_fwd[k], thr[k], T, delay, last_step,
                           SpikeCSR(order[k], tsort[k], nspk[k]), 0, n, pots[k], ths[k],
                           bins[k], LayerOut(o_t[k], o_vf[k], o_ve[k]))
            rec.times[k][b, :] = o_t[k][0]
        top = n_layers - 1
        t_out = o_t[top][0]
        rec.v_fire[b, :] = o_vf[top][0]
        _potential_at(w_fwd[top], order[top][0], tsort[top][0], nspk[top][0], opts.read_step,
                      rec.v_end[b])
        rec.loss[b] = opts.loss_scale * _target_grad(
            t_out, labels[b], T, opts.target_code, opts.gamma, opts.grad_scale, errs[top])
        for k in range(top, -1, -1):  # backward, then this layer's update
            n = nspk[k][0]
            ids, ts, t_k = order[k][0], tsort[k][0], o_t[k][0]
            gscr = GradsScratch(coef[k], mask_g[k], active[k])
            _upstream(errs[k], opts.normalize, opts.eps, gs[k])
            sign_acc[k][:] = 0.0
            if k == 0:  # nothing else needs this layer's dL/dW: update row by row
                _sgd_direct(ids, ts, n, t_k, gs[k], pairs, w[k], w_fwd[k], opts.wd,
                            opts.neg_lr[k], touched[k], coef[k], sign_acc[k])
            else:
                touched[k][:] = 0
                grads_sample(ids, ts, n, t_k, gs[k], w[k], pairs, False, grad[k], touched[k],
                             no_row, gscr)
                # the error passed down, through W or the lookahead W - eta dL/dW
                wb = w[k]
                if opts.neg_eta != 0:
                    wb = moved[k]
                    for p in range(n):
                        i = ids[p]
                        for j in range(wb.shape[1]):
                            wb[i, j] = fma32(grad[k][i, j], opts.neg_eta, w[k][i, j])
                spare_touched[k][:] = 0
                grads_sample(ids, ts, n, t_k, gs[k], wb, pairs, True, spare[k],
                             spare_touched[k], errs[k - 1], gscr)
                # SGD, then BS4NN's fact from the step's gradient and signs, then the clip
                _sgd_rows(w[k], w_fwd[k], grad[k], touched[k], opts.wd, opts.neg_lr[k],
                          sign_acc[k])
            if use_fact:
                total = 0.0
                for j in range(sign_acc[k].shape[0]):
                    total += sign_acc[k][j]
                fact[k] -= opts.fact_lr[k] * total / w[k].size
                theta[k][:] = np.float64(np.float32(opts.fact_thr[k] / fact[k]))
                refresh_thresholds(theta[k], thr[k])
            if opts.clip[k] < np.inf:  # all rows after the first step: they may start outside
                _clip_rows(w[k], w_fwd[k], touched[k], b == 0, opts.clip[k])
    return 0
