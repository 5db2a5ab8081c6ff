"""Argument checks shared by the encoders (torch only)."""

from __future__ import annotations

import math
import numbers

import torch


def check_T(T: object) -> int:
    """Return ``T`` as ``int``; raise ``ValueError`` unless it is an integer >= 2."""
    if isinstance(T, bool) or not isinstance(T, numbers.Integral) or int(T) < 2:
        raise ValueError(f"T must be an integer >= 2, got {T!r}")
    return int(T)


def check_intensity_threshold(intensity_threshold: object) -> float:
    """Return the threshold as ``float``; it must lie in ``[0, 1)``."""
    if isinstance(intensity_threshold, bool) or not isinstance(intensity_threshold, numbers.Real):
        raise ValueError(
            f"intensity_threshold must be a real number in [0, 1), got {intensity_threshold!r}"
        )
    thr = float(intensity_threshold)
    if not (0.0 <= thr < 1.0):
        raise ValueError(f"intensity_threshold must lie in [0, 1), got {intensity_threshold!r}")
    return thr


def check_x_min(x_min: object) -> float:
    """Return ``x_min`` as ``float``; it must lie in the open interval ``(0, 1)``."""
    if isinstance(x_min, bool) or not isinstance(x_min, numbers.Real):
        raise ValueError(f"x_min must be a real number in (0, 1), got {x_min!r}")
    v = float(x_min)
    if not (0.0 < v < 1.0):
        raise ValueError(f"x_min must lie in (0, 1), got {x_min!r}")
    return v


def check_positive_finite(name: str, value: object) -> float:
    """Return ``value`` as ``float``; it must be finite and > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    v = float(value)
    if not (math.isfinite(v) and v > 0.0):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return v


def check_positive_int(name: str, value: object) -> int:
    """Return ``value`` as ``int``; it must be an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
    return int(value)


def check_intensity(x: object) -> torch.Tensor:
    """Check an intensity tensor: uint8 (0..255) or floating point in ``[0, 1]``.

    Raises ``TypeError`` for other types/dtypes and ``ValueError`` (naming the observed
    range) for floats outside ``[0, 1]`` or containing NaN.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype == torch.uint8:
        return x
    if not x.is_floating_point():
        raise TypeError(
            f"x must be uint8 (0..255) or floating point in [0, 1], got dtype {x.dtype}"
        )
    if x.numel() > 0:
        lo = float(x.min())
        hi = float(x.max())
        if math.isnan(lo) or math.isnan(hi):  # torch min/max propagate NaN
            raise ValueError(
                f"float x must lie in [0, 1], but it contains NaN (observed range [{lo}, {hi}])"
            )
        if lo < 0.0 or hi > 1.0:
            raise ValueError(f"float x must lie in [0, 1], observed range [{lo}, {hi}]")
    return x
