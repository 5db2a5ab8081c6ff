"""Intensity-to-latency codes for images (docs/method.md, "Images").

Convention (whole platform): a spike time is an integer in ``[0, T)``; the value ``T``
means "no spike". Every input element fires at most once, so the output has the shape
of the input (e.g. ``(B, N)``) and dtype ``torch.long``; no dense ``(T, B, N)`` raster is
ever built.

Rounding is ``torch.round``, i.e. **round half to even** (banker's rounding):
``round(0.5) = 0``, ``round(1.5) = 2``, ``round(2.5) = 2``. The real-valued times are
computed in float64 (float32 on MPS, which has no float64). For uint8 input the linear
code never hits an exact tie (``(255 - x)·(T - 1)/255`` is never ``k + 1/2``), so uint8
input and the float input ``x/255`` give the same times.
"""

from __future__ import annotations

import math

import torch

from ._validate import check_intensity, check_intensity_threshold, check_T, check_x_min

__all__ = ["latency_linear", "latency_log"]


def _work_dtype(device: torch.device) -> torch.dtype:
    return torch.float32 if device.type == "mps" else torch.float64


def _normalize(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Return ``(x_cmp, x_work)``.

    ``x_work`` is x̃ = x/255 (uint8) or x (float) in the high-precision work dtype, used
    for the arithmetic. ``x_cmp`` is the tensor used for threshold comparisons: for float
    input it is ``x`` in its own dtype, so a threshold written as ``k/255`` compares equal
    to the float image ``x_u8/255`` exactly as it does to the uint8 image.
    """
    wd = _work_dtype(x.device)
    if x.dtype == torch.uint8:
        xw = x.to(wd) / 255.0
        return xw, xw
    return x, x.to(wd)


def _apply_threshold(
    t: torch.Tensor, x_cmp: torch.Tensor, T: int, intensity_threshold: float
) -> torch.Tensor:
    if intensity_threshold > 0.0:
        t = t.masked_fill(x_cmp < intensity_threshold, T)
    return t


def latency_linear(
    x: torch.Tensor,
    T: int,
    zero_intensity_spikes: bool = False,
    intensity_threshold: float = 0.0,
) -> torch.Tensor:
    """Linear latency code: ``t = round((1 - x̃)·(T - 1))`` (round half to even).

    Args:
        x: intensities, uint8 ``0..255`` (x̃ = x/255) or floating point in ``[0, 1]``
            (x̃ = x); any shape, typically ``(B, N)``.
        T: number of time steps (int >= 2); spike times lie in ``[0, T-1]``, ``T`` = silent.
        zero_intensity_spikes: if False (S4NN/SSTDP), x̃ == 0 gives ``T`` (black pixels
            never spike); if True (BS4NN), x̃ == 0 spikes at ``T - 1``.
        intensity_threshold: in ``[0, 1)``; when > 0, every element with
            x̃ < intensity_threshold gives ``T`` (applied last, so it also silences black
            pixels when ``zero_intensity_spikes`` is True).

    Returns:
        ``torch.long`` tensor of the shape and device of ``x`` with values in ``[0, T]``.
        x̃ = 1 → 0; brighter is never later.
    """
    T = check_T(T)
    intensity_threshold = check_intensity_threshold(intensity_threshold)
    x = check_intensity(x)
    x_cmp, xw = _normalize(x)
    t = torch.round((1.0 - xw) * (T - 1)).to(torch.long).clamp_(0, T - 1)
    t = t.masked_fill(x_cmp == 0, T - 1 if zero_intensity_spikes else T)
    return _apply_threshold(t, x_cmp, T, intensity_threshold)


def latency_log(
    x: torch.Tensor,
    T: int,
    x_min: float = 1.0 / 255.0,
    zero_intensity_spikes: bool = False,
    intensity_threshold: float = 0.0,
) -> torch.Tensor:
    """Logarithmic (RC-discharge style) latency code.

    ``t = round((T - 1)·ln(x̃)/ln(x_min))`` for x̃ >= x_min, clamped into ``[0, T - 1]``
    (round half to even). So x̃ = 1 → 0 and x̃ = x_min → T - 1; brighter is never later.

    Args:
        x: intensities, uint8 ``0..255`` (x̃ = x/255) or floating point in ``[0, 1]``.
        T: number of time steps (int >= 2).
        x_min: dimmest intensity that still gets a time in ``[0, T-1]``, in ``(0, 1)``;
            default 1/255 (the dimmest non-black uint8 pixel).
        zero_intensity_spikes: elements with x̃ < x_min (black included) give ``T``
            (no spike) if False, ``T - 1`` if True.
        intensity_threshold: in ``[0, 1)``; when > 0, x̃ < intensity_threshold gives ``T``
            (applied last).

    Returns:
        ``torch.long`` tensor of the shape and device of ``x`` with values in ``[0, T]``.
    """
    T = check_T(T)
    x_min = check_x_min(x_min)
    intensity_threshold = check_intensity_threshold(intensity_threshold)
    x = check_intensity(x)
    x_cmp, xw = _normalize(x)
    below = x_cmp < x_min
    t = torch.round(torch.log(xw.clamp(min=x_min)) * ((T - 1) / math.log(x_min)))
    t = t.to(torch.long).clamp_(0, T - 1)
    t = t.masked_fill(below, T - 1 if zero_intensity_spikes else T)
    return _apply_threshold(t, x_cmp, T, intensity_threshold)
