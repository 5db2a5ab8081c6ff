"""Callable encoder classes (plain classes, no ``nn.Module``) for Hydra ``_target_``.

They validate their arguments at construction, hold no state between calls and return
``torch.long`` spike times in ``[0, T]`` (``T`` = no spike) on the device of the input: each
satisfies :class:`~bstdg.encoding.SpikeEncoder` (``T: int`` and ``__call__(x) -> Tensor``).
"""

from __future__ import annotations

import torch

from ._validate import (
    check_intensity_threshold,
    check_positive_finite,
    check_positive_int,
    check_T,
    check_x_min,
)
from .latency import latency_linear, latency_log
from .shd import shd_first_spike

__all__ = ["LatencyEncoder", "SHDFirstSpikeEncoder", "LATENCY_CODES"]

LATENCY_CODES: tuple[str, ...] = ("linear", "log")


class LatencyEncoder:
    """Image intensities ``(B, N)`` (uint8 or float in [0, 1]) → spike times ``(B, N)``.

    ``code="linear"``: ``t = round((1 - x̃)(T - 1))`` (:func:`latency_linear`);
    ``code="log"``: ``t = round((T - 1) ln x̃ / ln x_min)`` (:func:`latency_log`).
    ``x_min`` is used by the log code only.
    """

    def __init__(
        self,
        T: int,
        code: str = "linear",
        zero_intensity_spikes: bool = False,
        intensity_threshold: float = 0.0,
        x_min: float = 1.0 / 255.0,
    ) -> None:
        self.T = check_T(T)
        if code not in LATENCY_CODES:
            raise ValueError(f"unknown latency code {code!r}; valid values: {list(LATENCY_CODES)}")
        self.code = code
        self.zero_intensity_spikes = bool(zero_intensity_spikes)
        self.intensity_threshold = check_intensity_threshold(intensity_threshold)
        self.x_min = check_x_min(x_min)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        if self.code == "linear":
            return latency_linear(
                x,
                self.T,
                zero_intensity_spikes=self.zero_intensity_spikes,
                intensity_threshold=self.intensity_threshold,
            )
        return latency_log(
            x,
            self.T,
            x_min=self.x_min,
            zero_intensity_spikes=self.zero_intensity_spikes,
            intensity_threshold=self.intensity_threshold,
        )

    def __repr__(self) -> str:
        return (
            f"LatencyEncoder(T={self.T}, code={self.code!r}, "
            f"zero_intensity_spikes={self.zero_intensity_spikes}, "
            f"intensity_threshold={self.intensity_threshold}, x_min={self.x_min})"
        )


class SHDFirstSpikeEncoder:
    """SHD padded events ``(B, E, 2)`` → first-spike times ``(B, n_channels)`` (option A).

    ``s_c = floor(τ_c / Δ)``, ``Δ = t_window / T``, τ_c the first in-window event of channel c;
    silent channels give ``T`` (:func:`shd_first_spike`).
    """

    def __init__(self, T: int, t_window: float = 1.0, n_channels: int = 700) -> None:
        self.T = check_T(T)
        self.t_window = check_positive_finite("t_window", t_window)
        self.n_channels = check_positive_int("n_channels", n_channels)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        return shd_first_spike(x, self.T, n_channels=self.n_channels, t_window=self.t_window)

    def __repr__(self) -> str:
        return (
            f"SHDFirstSpikeEncoder(T={self.T}, t_window={self.t_window}, "
            f"n_channels={self.n_channels})"
        )
