"""Literal numpy transcriptions of one training update of the released baseline codes.

Written for the step-equivalence tests (tests/snn/test_baseline_steps.py): each function
follows the released source line by line (cupy/torch replaced by numpy, globals made
arguments, shapes kept), so the platform's one step can be compared with it.

* S4NN: SRKH/S4NN ``S4NN.py`` (training loop body; real weights, thr 100, per sample).
* BS4NN: SRKH/BS4NN ``BS4NN_mnist.ipynb`` (``Forward_FC``, ``target_function``,
  ``backward_FC`` and the training loop body; +-1 weights, thr / fact, per sample).
* SSTDP: MXHX7199/SNN-SSTDP ``code/sstdp_module.py`` (``SpikeOnceNeuron``,
  ``stdp_update``, ``StdpLinearFunction``) and ``code/sstdp_train.py`` (encoder, target,
  ``F.mse_loss``, ``torch.optim.SGD``), float32 like torch.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# --------------------------------------------------------------------------------------
# encoders
# --------------------------------------------------------------------------------------


def s4nn_encode(pixels: np.ndarray, tmax: int = 256, gray_levels: int = 255) -> np.ndarray:
    """S4NN.py: ``np.floor((GrayLevels - Images[i]) * tmax / GrayLevels).astype(int)``."""
    return np.floor((gray_levels - pixels.astype(np.int64)) * tmax / gray_levels).astype(int)


def bs4nn_encode(pixels: np.ndarray, tend: int = 255) -> np.ndarray:
    """BS4NN notebook: ``np.floor(Tend - (np.dot(Images[i], Tend) / 255))`` on the uint8 image
    (np.dot takes the scalar as an int64 array, so the product does not wrap): 255 - x."""
    return np.floor(tend - (np.dot(pixels, tend) / 255))


def sstdp_encode(pixels: np.ndarray, t_max: int = 255) -> np.ndarray:
    """sstdp_train.py: ``((1 - x) * (T_max - 1)).round().int()`` with x = ToTensor(img)."""
    x = pixels.astype(np.float32) / np.float32(255)
    return np.round((np.float32(1) - x) * np.float32(t_max - 1)).astype(np.int32)


# --------------------------------------------------------------------------------------
# BS4NN
# --------------------------------------------------------------------------------------


@dataclass
class BS4NNState:
    """The notebook's globals: W0 (H, N, 1), W1 (C, H, 1), fact [2], thr, lr, lrF, lamda."""

    W0: np.ndarray
    W1: np.ndarray
    fact: list[float]
    thr: tuple[float, float] = (100, 100)
    lr: tuple[float, float] = (0.1, 0.1)
    lrF: tuple[float, float] = (0.01, 0.01)
    lamda: tuple[float, float] = (0, 0)
    gamma: int = 1
    Tmax: int = 256


def bs4nn_forward_fc(st: BS4NNState, FT: np.ndarray, weight: np.ndarray, layer: int):
    """``Forward_FC``: returns (ST (Num_out, 1), Voltage (Num_out, Tmax + 1))."""
    Num_out, Num_in = weight.shape[0], weight.shape[1]
    Tmax = st.Tmax
    t = np.mgrid[0:Num_in, 0:1]
    Spikes = np.zeros((Num_in, 1, Tmax + 1))
    thre = st.thr[layer] / st.fact[layer]
    Spikes[t[0], t[1], FT.astype(int)] = 1
    Voltage = np.cumsum(np.tensordot(np.sign(weight), Spikes), 1)
    Voltage[:, Tmax] = thre + 1
    ST = (np.argmax(Voltage > thre, axis=1).astype(float) + 1).reshape(Num_out, 1)
    ST[ST > Tmax] = Tmax
    return ST, Voltage


def bs4nn_target(st: BS4NNState, inp: np.ndarray, Vinp: np.ndarray, label: int):
    """``target_function``: (target (C, 1), correct) with the V(Tmax - 3) fallback."""
    Tmax, gamma = st.Tmax, st.gamma
    target = np.zeros([inp.shape[0], 1])
    minFiring = min(inp)
    if minFiring == Tmax:
        target[:] = minFiring
        target[label] = minFiring
        target = target.astype(int)
    else:
        target[:] = inp
        toChange = (inp - minFiring) < gamma
        target[toChange] = min(minFiring + gamma, Tmax)
        target[label] = minFiring
    correct = 0
    if minFiring == Tmax:
        V = np.argmax(Vinp[:, Tmax - 3])
        if V == label:
            correct += 1
    else:
        if inp[label] == minFiring:
            correct += 1
    return target, correct


def bs4nn_backward_fc(st: BS4NNState, delta, inp, out, weight, layer: int):
    """``backward_FC`` (updates ``weight`` and ``st.fact[layer]`` in place)."""
    lr, lamda = st.lr[layer], st.lamda[layer]
    HF = inp < out
    weight -= (lr * delta)[:, np.newaxis] * HF
    weight -= lr * lamda * weight
    st.fact[layer] -= (st.lrF[layer] * delta[:, np.newaxis] * HF * np.sign(weight)).mean()
    Delta = np.sum((weight * delta[:, np.newaxis]) * HF, 0)
    return weight, Delta


def bs4nn_train_sample(st: BS4NNState, image_times: np.ndarray, label: int) -> dict:
    """One iteration of the notebook's training loop (forward, target, both backward_FC)."""
    N = image_times.size
    FiringTime0 = np.reshape(image_times, [N, 1]).astype(float)
    FiringTime1, VoltageH = bs4nn_forward_fc(st, FiringTime0, st.W0, 0)
    SpikeTime, VoltageO = bs4nn_forward_fc(st, FiringTime1, st.W1, 1)
    target, correct = bs4nn_target(st, SpikeTime, VoltageO, label)
    delta3 = (target - SpikeTime) / st.Tmax
    norm = np.linalg.norm(delta3)
    if norm != 0:
        delta3 = delta3 / norm
    st.W1, delta2 = bs4nn_backward_fc(st, delta3, FiringTime1, SpikeTime[:, np.newaxis], st.W1, 1)
    norm = np.linalg.norm(delta2)
    if norm != 0:
        delta2 = delta2 / norm
    st.W0, _ = bs4nn_backward_fc(st, delta2, FiringTime0, FiringTime1[:, np.newaxis], st.W0, 0)
    return {"hidden": FiringTime1[:, 0].copy(), "out": SpikeTime[:, 0].copy(),
            "v_out": VoltageO.copy(), "correct": correct, "delta_out": delta3[:, 0].copy(),
            "delta_hidden": delta2[:, 0].copy()}


# --------------------------------------------------------------------------------------
# S4NN
# --------------------------------------------------------------------------------------


@dataclass
class S4NNState:
    """S4NN.py's globals: W = [W0 (H, h, w), W1 (C, H, 1)], thr, lr, lamda, tmax, gamma."""

    W: list[np.ndarray]
    thr: tuple[float, float] = (100, 100)
    lr: tuple[float, float] = (0.2, 0.2)
    lamda: tuple[float, float] = (0.000001, 0.000001)
    tmax: int = 256
    gamma: int = 3


def s4nn_train_sample(st: S4NNState, image: np.ndarray, label: int) -> dict:
    """One iteration of S4NN.py's training loop for an input image of shape (h, w)."""
    W, thr, lr, lamda, tmax, gamma = st.W, st.thr, st.lr, st.lamda, st.tmax, st.gamma
    Nlayers = 2
    Nnrn = [W[0].shape[0], W[1].shape[0]]
    layerSize = [[image.shape[0], image.shape[1]], [Nnrn[0], 1], [Nnrn[1], 1]]
    x = np.mgrid[0:layerSize[0][0], 0:layerSize[0][1]]
    SpikeImage = np.zeros((layerSize[0][0], layerSize[0][1], tmax + 1))
    firingTime, Spikes, X = [], [], []
    for layer in range(Nlayers):
        firingTime.append(np.zeros(Nnrn[layer]))
        Spikes.append(np.zeros((layerSize[layer + 1][0], layerSize[layer + 1][1], tmax + 1)))
        X.append(np.mgrid[0:layerSize[layer + 1][0], 0:layerSize[layer + 1][1]])
    SpikeList = [SpikeImage] + Spikes
    target = np.zeros([Nnrn[1]])

    SpikeImage[:, :, :] = 0
    SpikeImage[x[0], x[1], image] = 1
    for layer in range(Nlayers):
        Voltage = np.cumsum(np.tensordot(W[layer], SpikeList[layer]), 1)
        Voltage[:, tmax] = thr[layer] + 1
        firingTime[layer] = np.argmax(Voltage > thr[layer], axis=1).astype(float) + 1
        firingTime[layer][firingTime[layer] > tmax] = tmax
        Spikes[layer][:, :, :] = 0
        Spikes[layer][X[layer][0], X[layer][1],
                      firingTime[layer].reshape(Nnrn[layer], 1).astype(int)] = 1
    v_out = Voltage.copy()

    minFiring = min(firingTime[layer])
    if minFiring == tmax:
        target[:] = minFiring
        target[label] = minFiring - gamma
        target = target.astype(int)
    else:
        target[:] = firingTime[layer][:]
        toChange = (firingTime[layer] - minFiring) < gamma
        target[toChange] = min(minFiring + gamma, tmax)
        target[label] = minFiring

    layer = Nlayers - 1
    delta_o = (target - firingTime[layer]) / tmax
    norm = np.linalg.norm(delta_o)
    if norm != 0:
        delta_o = delta_o / norm
    hasFired_o = firingTime[layer - 1] < firingTime[layer][:, np.newaxis]
    W[layer][:, :, 0] -= delta_o[:, np.newaxis] * hasFired_o * lr[layer]
    W[layer] -= lr[layer] * lamda[layer] * W[layer]
    delta_h = (np.multiply(delta_o[:, np.newaxis] * hasFired_o, W[layer][:, :, 0])).sum(axis=0)
    layer = Nlayers - 2
    norm = np.linalg.norm(delta_h)
    if norm != 0:
        delta_h = delta_h / norm
    hasFired_h = image < firingTime[layer][:, np.newaxis, np.newaxis]
    W[layer] -= lr[layer] * delta_h[:, np.newaxis, np.newaxis] * hasFired_h
    W[layer] -= lr[layer] * lamda[layer] * W[layer]
    return {"hidden": firingTime[0].copy(), "out": firingTime[1].copy(), "v_out": v_out}


def s4nn_decide(firing_out: np.ndarray, v_out: np.ndarray, tmax: int) -> int | None:
    """S4NN.py's test decision: None (label-among-earliest rule) or argmax V(tmax - 3)."""
    if firing_out.min() == tmax:
        return int(np.argmax(v_out[:, tmax - 3]))
    return None


# --------------------------------------------------------------------------------------
# SSTDP (float32, as torch)
# --------------------------------------------------------------------------------------


def sstdp_linear_forward(input_time: np.ndarray, weight: np.ndarray, threshold: float,
                         t_max: int) -> np.ndarray:
    """``StdpLinearFunction.forward`` with a fresh ``SpikeOnceNeuron(tau=None)``."""
    placeholder = np.arange(0, t_max, 1)
    inp = (input_time[..., None] == placeholder).astype(np.float32).transpose(2, 0, 1)
    valid = t_max - 3
    v = np.float32(0.0)
    spiked = None
    outs = []
    for t in range(0, valid + 1):
        dv = inp[t] @ weight.T  # F.linear
        if spiked is None:
            spiked = np.zeros_like(dv)
        v = v + dv  # tau is None: self.v += dv
        spike = (1 - spiked) * (v > np.float32(threshold))
        spiked = spiked + spike
        outs.append(spike)
    output = np.stack(outs)
    return np.where(np.sum(output, axis=0) == 0, t_max, np.argmax(output, axis=0)).astype(
        np.float32
    )


def sstdp_stdp_update(t_i, t_j, a, b, t_max):
    """``stdp_update`` with tau None."""
    t_i = t_i[:, None, :]
    t_j = t_j[:, :, None]
    delta_t = t_i - t_j
    update = ((delta_t <= 0) * (t_i < t_max)).astype(np.float32) * (a + b) - b
    time_update = ((delta_t <= 0) * (t_i < t_max)).astype(np.float32)
    return update.astype(np.float32), time_update


def sstdp_linear_backward(output_grad, input_time, output_time, weight, a, b, t_max):
    """``StdpLinearFunction.backward`` (lr_ratio 1): (input_grad, weight_grad)."""
    normalization = np.sum(output_grad ** 2, axis=1) ** 0.5 + np.float32(1e-10)
    output_grad = (output_grad / normalization[:, None]).astype(np.float32)
    stdp_result, fire_ahead = sstdp_stdp_update(input_time, output_time, a, b, t_max)
    weight_masked = np.repeat(weight[None], output_time.shape[0], axis=0) * fire_ahead
    weight_grad = (-stdp_result * output_grad[:, :, None]).mean(axis=0)
    input_grad = (output_grad[:, None, :] @ weight_masked)[:, 0, :]
    return input_grad.astype(np.float32), weight_grad.astype(np.float32)


def sstdp_train_batch(W: list[np.ndarray], input_time: np.ndarray, label: np.ndarray, *,
                      t_max: int = 255, threshold: float = 100.0, delta: int = 5,
                      lr: float = 10.0, weight_decay: float = 1e-6, A: float = 1.0,
                      B: float = 0.0) -> dict:
    """One batch of sstdp_train.py: net forward, target, F.mse_loss backward, SGD step.
    ``W`` = [W1 (H, N), W2 (C, H)] float32, updated in place."""
    h = sstdp_linear_forward(input_time, W[0], threshold, t_max)
    output = sstdp_linear_forward(h, W[1], threshold, t_max)
    minFiringTime = np.min(output, axis=1).copy()
    minFiringTime[minFiringTime == t_max] = t_max - delta
    target = np.minimum(np.maximum(output, (minFiringTime + delta)[:, None]), t_max)
    target[np.arange(output.shape[0]), label] = minFiringTime
    grad_out = (2 * (output - target) / output.size).astype(np.float32)  # F.mse_loss
    grad_h, grad_w2 = sstdp_linear_backward(grad_out, h, output, W[1], A, B, t_max)
    _, grad_w1 = sstdp_linear_backward(grad_h, input_time, h, W[0], A, B, t_max)
    for w, g in ((W[0], grad_w1), (W[1], grad_w2)):  # torch.optim.SGD(weight_decay)
        w -= np.float32(lr) * (g + np.float32(weight_decay) * w)
    return {"hidden": h, "out": output, "target": target}
