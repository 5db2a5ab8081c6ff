import math

import pytest
import torch

from bstdg.encoding import LatencyEncoder, latency_linear, latency_log

ALL_U8 = torch.arange(256, dtype=torch.uint8).reshape(2, 128)


def u8(*vals: int) -> torch.Tensor:
    return torch.tensor([list(vals)], dtype=torch.uint8)


# ---------------------------------------------------------------- exact values, linear


def test_linear_exact_values_T64() -> None:
    # t = round((255 - x) * 63 / 255)
    x = u8(255, 0, 128, 127, 1, 254, 200)
    t = latency_linear(x, 64)
    # 128 -> 31.376 -> 31; 127 -> 31.624 -> 32; 1 -> 62.75 -> 63; 254 -> 0.247 -> 0;
    # 200 -> 13.588 -> 14; 0 -> silent (T)
    assert t.tolist() == [[0, 64, 31, 32, 63, 0, 14]]


def test_linear_black_pixel_spikes_when_asked() -> None:
    x = u8(255, 0, 128)
    assert latency_linear(x, 64, zero_intensity_spikes=True).tolist() == [[0, 63, 31]]


def test_linear_T256_is_255_minus_x() -> None:
    # T - 1 = 255: t = 255 - x exactly (BS4NN time grid).
    t = latency_linear(ALL_U8, 256, zero_intensity_spikes=True)
    assert torch.equal(t, 255 - ALL_U8.long())


def test_linear_round_half_to_even() -> None:
    # x̃ = 0.5, T - 1 = 3 -> 1.5 -> 2 ; T - 1 = 5 -> 2.5 -> 2 ; T - 1 = 1 -> 0.5 -> 0
    x = torch.tensor([[0.5]])
    assert latency_linear(x, 4).item() == 2
    assert latency_linear(x, 6).item() == 2
    assert latency_linear(x, 2).item() == 0
    # x̃ = 0.25, T - 1 = 2 -> 1.5 -> 2 ; x̃ = 0.75 -> 0.5 -> 0
    assert latency_linear(torch.tensor([[0.25, 0.75]]), 3).tolist() == [[2, 0]]


def test_linear_T2() -> None:
    # t = round(1 - x̃): x̃ > 0.5 -> 0, x̃ < 0.5 -> 1, x̃ = 0 -> silent
    x = u8(255, 128, 127, 1, 0)
    assert latency_linear(x, 2).tolist() == [[0, 0, 1, 1, 2]]
    assert latency_linear(x, 2, zero_intensity_spikes=True).tolist() == [[0, 0, 1, 1, 1]]


def test_linear_T1024() -> None:
    x = u8(255, 128, 1, 0)
    expected = [round((255 - v) * 1023 / 255) for v in (255, 128, 1)] + [1024]
    assert latency_linear(x, 1024).tolist() == [expected]
    t = latency_linear(ALL_U8, 1024)
    assert t.min().item() == 0 and t.max().item() == 1024


# ---------------------------------------------------------------- exact values, log


def test_log_exact_values() -> None:
    T = 64
    x = u8(255, 1, 0, 128, 16)
    t = latency_log(x, T)
    ref = [round((T - 1) * math.log(v / 255) / math.log(1 / 255)) for v in (128, 16)]
    assert t.tolist() == [[0, T - 1, T] + ref]
    assert latency_log(x, T, zero_intensity_spikes=True)[0, 2].item() == T - 1


def test_log_below_x_min() -> None:
    x = torch.tensor([[1.0, 0.2, 0.1, 0.05, 0.0]])
    t = latency_log(x, 11, x_min=0.1)
    # ln(0.2)/ln(0.1) * 10 = 6.99 -> 7
    assert t.tolist() == [[0, 7, 10, 11, 11]]
    t = latency_log(x, 11, x_min=0.1, zero_intensity_spikes=True)
    assert t.tolist() == [[0, 7, 10, 10, 10]]


# ---------------------------------------------------------------- properties


@pytest.mark.parametrize("code", ["linear", "log"])
@pytest.mark.parametrize("T", [2, 3, 8, 64, 255, 256, 1024])
@pytest.mark.parametrize("zero_intensity_spikes", [False, True])
def test_monotone_bounds_shape(code: str, T: int, zero_intensity_spikes: bool) -> None:
    enc = LatencyEncoder(T, code=code, zero_intensity_spikes=zero_intensity_spikes)
    t = enc(ALL_U8).flatten()
    assert t.shape == (256,)  # one time per input = at most one spike
    assert t.dtype == torch.long
    assert t.min().item() >= 0 and t.max().item() <= T
    assert t[-1].item() == 0  # x = 255
    # brighter (larger x) is never later
    assert bool((t[1:] <= t[:-1]).all())
    assert t[0].item() == (T - 1 if zero_intensity_spikes else T)
    # only black / below-x_min pixels may be silent
    assert bool((t[1:] < T).all())


@pytest.mark.parametrize("code", ["linear", "log"])
def test_random_float_monotone(code: str) -> None:
    g = torch.Generator().manual_seed(0)
    x = torch.rand(4, 500, generator=g)
    enc = LatencyEncoder(100, code=code)
    t = enc(x)
    order = torch.argsort(x, dim=1)
    ts = torch.gather(t, 1, order)
    assert bool((ts[:, 1:] <= ts[:, :-1]).all())
    assert t.shape == x.shape


@pytest.mark.parametrize("code", ["linear", "log"])
@pytest.mark.parametrize("T", [2, 7, 64, 256, 1024])
@pytest.mark.parametrize("thr", [0.0, 0.1, 128 / 255])
@pytest.mark.parametrize("fdtype", [torch.float32, torch.float64])
def test_uint8_and_float_agree(code: str, T: int, thr: float, fdtype: torch.dtype) -> None:
    enc = LatencyEncoder(T, code=code, intensity_threshold=thr)
    xf = ALL_U8.to(fdtype) / 255
    assert torch.equal(enc(ALL_U8), enc(xf))


@pytest.mark.parametrize("fn", [latency_linear, latency_log])
def test_threshold_rule(fn) -> None:  # type: ignore[no-untyped-def]
    T = 64
    x = u8(0, 1, 127, 128, 129, 255)
    t = fn(x, T, intensity_threshold=128 / 255)
    # x̃ < 128/255 silent; x̃ == threshold keeps its spike
    assert t[0, :3].tolist() == [T, T, T]
    assert bool((t[0, 3:] < T).all())
    assert torch.equal(t[0, 3:], fn(x, T)[0, 3:])
    # the threshold silences black pixels even when they would spike
    t2 = fn(x, T, zero_intensity_spikes=True, intensity_threshold=0.01)
    assert t2[0, 0].item() == T


def test_silence_rule_float_zero() -> None:
    x = torch.tensor([[0.0, 1e-9, 1.0]])
    t = latency_linear(x, 16)
    assert t.tolist() == [[16, 15, 0]]  # only exactly-zero intensity is silent


@pytest.mark.parametrize("code", ["linear", "log"])
def test_dtype_and_device(device: torch.device, code: str) -> None:
    enc = LatencyEncoder(32, code=code)
    x = ALL_U8.to(device)
    t = enc(x)
    assert t.dtype == torch.int64
    assert t.device.type == device.type
    assert torch.equal(t.cpu(), enc(ALL_U8))
    tf = enc(x.float() / 255)
    assert tf.device.type == device.type and torch.equal(tf.cpu(), t.cpu())


def test_any_shape_kept() -> None:
    x = torch.rand(2, 3, 4)
    assert latency_linear(x, 8).shape == (2, 3, 4)
    assert latency_log(x, 8).shape == (2, 3, 4)
    assert latency_linear(torch.empty(0, 784), 8).shape == (0, 784)


def test_float16_input() -> None:
    x = torch.tensor([[0.0, 0.5, 1.0]], dtype=torch.float16)
    assert latency_linear(x, 5).tolist() == [[5, 2, 0]]


# ---------------------------------------------------------------- errors


@pytest.mark.parametrize("T", [1, 0, -3, 2.0, 64.5, "64", True, None])
def test_bad_T(T: object) -> None:
    with pytest.raises(ValueError, match=r"T must be an integer >= 2, got"):
        latency_linear(torch.zeros(1, 2), T)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"T must be an integer >= 2, got"):
        latency_log(torch.zeros(1, 2), T)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"T must be an integer >= 2, got"):
        LatencyEncoder(T)  # type: ignore[arg-type]


def test_bad_code() -> None:
    with pytest.raises(ValueError, match=r"valid values: \['linear', 'log'\]"):
        LatencyEncoder(64, code="rate")


@pytest.mark.parametrize("bad", [[[-0.1, 0.5]], [[0.5, 1.5]], [[0.0, 255.0]]])
def test_x_out_of_range(bad: list[list[float]]) -> None:
    x = torch.tensor(bad)
    with pytest.raises(ValueError, match=r"observed range \["):
        latency_linear(x, 8)
    with pytest.raises(ValueError, match=r"observed range \["):
        LatencyEncoder(8, code="log")(x)


def test_x_nan() -> None:
    with pytest.raises(ValueError, match="NaN"):
        latency_linear(torch.tensor([[0.5, float("nan")]]), 8)


def test_x_bad_dtype() -> None:
    with pytest.raises(TypeError, match="uint8"):
        latency_linear(torch.tensor([[3, 200]], dtype=torch.int64), 8)


@pytest.mark.parametrize("thr", [-0.1, 1.0, 2.0])
def test_bad_threshold(thr: float) -> None:
    with pytest.raises(ValueError, match="intensity_threshold"):
        latency_linear(torch.zeros(1, 2), 8, intensity_threshold=thr)
    with pytest.raises(ValueError, match="intensity_threshold"):
        LatencyEncoder(8, intensity_threshold=thr)


@pytest.mark.parametrize("x_min", [0.0, 1.0, -0.5])
def test_bad_x_min(x_min: float) -> None:
    with pytest.raises(ValueError, match="x_min"):
        latency_log(torch.zeros(1, 2), 8, x_min=x_min)
    with pytest.raises(ValueError, match="x_min"):
        LatencyEncoder(8, code="log", x_min=x_min)


def test_encoder_attributes() -> None:
    enc = LatencyEncoder(64)
    assert enc.T == 64 and enc.code == "linear" and not enc.zero_intensity_spikes
    assert "LatencyEncoder(T=64" in repr(enc)
