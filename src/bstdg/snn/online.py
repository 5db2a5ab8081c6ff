"""Per-sample (online) SGD at kernel speed: B samples, one SGD step each, in one call.

For each sample b of the batch in order, with the net's rule and the relative-target loss
(``losses.relative_target_mse`` of a batch of one):

    t = net(x_b);  G = dL/dt;  g_l = G_l / ||G_l||  (per layer, top down);
    dL/dw_ji = -kappa(t_j - t_i) g_j  on causal pairs;
    G_{l-1,i} = sum_j g_j [t_i < t_j] w~_ji,  w~ = W - eta dL/dW  (``backprop_lookahead``);
    W <- W - lr (dL/dW + wd W)  (torch.optim.SGD, momentum 0);
    fact <- fact - fact_lr mean_ji(dL/dw_ji sign(w_ji)),  theta = thr / fact  (bs4nn_fact);
    W <- clamp(W, -latent_clip, latent_clip),

exactly as B consecutive batch-1 steps of ``SpikingClassifier`` would (the same spike
times, the weights to float rounding: ``tests/snn/test_online.py``). The net's parameters
and ``fact`` buffers are updated in place. Between calls nothing is kept, so epoch-end
policies (dead-neuron revival) act on the net as they do between batch-1 steps.

Supported: the numba kernel's nets (CPU, float32 weights, the plain window), thresholds
``fixed`` or ``bs4nn_fact``, the const or exp kernel with per-sample normalisation (or
none), latent backprop weights, no dropout, and the :class:`~bstdg.snn.RelativeTargetMSE`
loss; :func:`check_online` names what else a net uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np
import torch

from bstdg.snn.backends.numba.launch import pair_table
from bstdg.snn.backends.numba.online import TARGET_CODES, online_steps
from bstdg.snn.backends.numba.primitives import TIMES_OUT_OF_RANGE
from bstdg.snn.layers import SpikingNet
from bstdg.snn.losses import RelativeTargetMSE
from bstdg.snn.spikes import check_batch_shape, check_times

ONLINE_THRESHOLD_MODES = ("fixed", "bs4nn_fact")


class OnlineOptions(NamedTuple):
    """What the kernel needs besides the tensors (see ``backends.numba.online``)."""

    T: int
    delay: int
    read_step: int
    target_code: int
    gamma: float
    grad_scale: np.float32
    loss_scale: float
    normalize: bool
    eps: float
    neg_eta: np.float32
    neg_lr: np.ndarray
    wd: np.float32
    clip: np.ndarray
    fact_lr: np.ndarray
    fact_thr: np.ndarray


class OnlineRecord(NamedTuple):
    """What each sample's forward gave, before its update: every layer's spike times
    (B, N_l), the output layer's v_fire and its potential at T - ``fallback_offset``
    (``NetOutput.v_end``), and the sample's loss (B,)."""

    times: tuple[torch.Tensor, ...]
    v_fire: torch.Tensor
    v_end: torch.Tensor
    loss: torch.Tensor


def check_online(net: SpikingNet, loss: object) -> None:
    """Raise ValueError naming what of ``net`` or ``loss`` the online kernel does not run."""
    first = net.layers[0]
    spec, rule = first.spec, first.spec.rule
    problems = []
    if not isinstance(loss, RelativeTargetMSE):
        problems.append(f"loss {type(loss).__name__} (only RelativeTargetMSE)")
    if any(layer.spec != spec for layer in net.layers):
        problems.append("layers with different specs")
    if any(layer.threshold_mode not in ONLINE_THRESHOLD_MODES for layer in net.layers):
        problems.append(f"threshold_mode {first.threshold_mode} (only "
                        f"{', '.join(ONLINE_THRESHOLD_MODES)})")
    if rule.kernel not in ("const", "exp") or rule.silent_input_grad:
        problems.append(f"rule.kernel {rule.kernel} / silent_input_grad (only const or exp, "
                        f"without silent_input_grad)")
    if spec.binary and rule.backprop_weights != "latent":
        problems.append(f"rule.backprop_weights {rule.backprop_weights} (only latent)")
    if spec.window_trim:
        problems.append("window_trim > 0")
    if net.hidden_dropout or net.input_dropout:
        problems.append("spike dropout")
    if any(layer.weight.dtype != torch.float32 or layer.weight.device.type != "cpu"
           for layer in net.layers):
        problems.append("weights not float32 on the CPU")
    if problems:
        raise ValueError("the online SGD kernel cannot run this net: " + "; ".join(problems))


def _per_layer(value: float | Sequence[float], n: int, name: str) -> list[float]:
    values = [float(value)] * n if isinstance(value, (int, float)) else [float(v) for v in value]
    if len(values) != n:
        raise ValueError(f"{name} needs one value per layer ({n}), got {values}")
    return values


def _options(net: SpikingNet, loss: RelativeTargetMSE, lr: list[float],
             weight_decay: float) -> OnlineOptions:
    layers = net.layers
    spec = layers[0].spec
    rule = spec.rule
    n_out = layers[-1].out_features
    grad_scale = (2.0 / n_out if loss.reduction == "mse"
                  else 2.0 * 0.5 / (spec.T * spec.T))  # the numpy loss of a batch of one
    fact = layers[0].threshold_mode == "bs4nn_fact"
    clips = [np.inf if layer.latent_clip is None else layer.latent_clip for layer in layers]
    return OnlineOptions(
        spec.T, spec.delay, spec.T - net.fallback_offset, TARGET_CODES[loss.variant],
        float(loss.gamma), np.float32(grad_scale), grad_scale / 2.0, bool(rule.normalize),
        float(rule.eps), np.float32(-rule.backprop_lookahead),
        np.array([np.float32(-x) for x in lr], np.float32), np.float32(weight_decay),
        np.array(clips, np.float32),
        np.array([layer.fact_lr for layer in layers] if fact else [], np.float64),
        np.array([layer.fact_thr for layer in layers] if fact else [], np.float64),
    )


def _latent_rows(weight: torch.Tensor) -> tuple[np.ndarray, bool]:
    """w^T (N_in, N_out) float32 C-contiguous: a view of the parameter when it is stored
    transposed (as SpikingLinear stores it), else a copy (second value False)."""
    w_t = weight.detach().t()
    if w_t.is_contiguous():
        return w_t.numpy(), True
    return np.ascontiguousarray(w_t.numpy()), False


@torch.no_grad()
def online_sgd_steps(
    net: SpikingNet,
    t_in: torch.Tensor,
    labels: torch.Tensor,
    loss: RelativeTargetMSE,
    lr: float | Sequence[float],
    weight_decay: float = 0.0,
) -> OnlineRecord:
    """Train ``net`` on the samples of ``t_in`` (B, N_0) spike times with ``labels`` (B,),
    one SGD step of rate ``lr`` (one value or one per layer) and ``weight_decay`` per
    sample, in order (see the module docstring); returns each sample's forward."""
    check_online(net, loss)
    check_batch_shape(t_in)
    check_times(t_in, net.T)
    layers = net.layers
    batch = t_in.shape[0]
    lrs = _per_layer(lr, len(layers), "lr")
    opts = _options(net, loss, lrs, float(weight_decay))
    spec = layers[0].spec
    rows = [_latent_rows(layer.weight) for layer in layers]
    w = tuple(r for r, _ in rows)
    w_fwd = tuple(np.where(r >= 0, 1, -1).astype(np.int8) if spec.binary
                  else r.astype(np.float64) for r in w)
    theta = tuple(np.broadcast_to(layer.threshold.detach().numpy().astype(np.float32),
                                  (layer.out_features,)).astype(np.float64) for layer in layers)
    fact = np.array([layer.fact.item() if opts.fact_lr.size else 0.0 for layer in layers])
    rec_times = tuple(np.empty((batch, layer.out_features), np.float32) for layer in layers)
    n_out = layers[-1].out_features
    rec = OnlineRecord(rec_times, np.empty((batch, n_out), np.float32),
                       np.empty((batch, n_out), np.float32), np.empty(batch, np.float64))
    lab = np.ascontiguousarray(labels.numpy().astype(np.int64))
    if batch and (lab.min() < 0 or lab.max() >= n_out):
        raise ValueError(f"labels must lie in [0, {n_out}), got {lab.min()}..{lab.max()}")
    x = np.ascontiguousarray(t_in.numpy(), dtype=np.float32)
    if batch:
        status = online_steps(x, lab, w, w_fwd, theta, fact, opts,
                              pair_table(spec.rule.kernel_spec(spec.T), spec.T), rec)
        if status == TIMES_OUT_OF_RANGE:
            check_times(t_in, net.T)  # raises
    for layer, (w_t, shared), k in zip(layers, rows, range(len(layers)), strict=True):
        if not shared:
            layer.weight.copy_(torch.from_numpy(w_t).t())
        if opts.fact_lr.size:
            layer.fact.fill_(float(fact[k]))
            layer.threshold.copy_((layer.fact_thr / layer.fact).to(layer.threshold.dtype))
    return OnlineRecord(tuple(torch.from_numpy(t) for t in rec.times),
                        torch.from_numpy(rec.v_fire), torch.from_numpy(rec.v_end),
                        torch.from_numpy(rec.loss))
