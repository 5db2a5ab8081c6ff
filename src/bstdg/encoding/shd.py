"""Spiking Heidelberg Digits events to spike times (docs/method.md, option A).

Input batch format: ``events`` float tensor ``(B, E, 2)`` of padded events
``[time_seconds, unit]``; padding rows have time ``+inf`` (and unit 0).

Only events with ``0 <= time < t_window`` are used ("in-window"); padding (``+inf``),
NaN, negative times and times ``>= t_window`` are ignored. An in-window event at time τ
falls into bin ``floor(τ·T/t_window)`` (i.e. ``floor(τ/Δ)``, ``Δ = t_window/T``), evaluated
in float64 on the stored (float32) time, product first, and clamped to ``T - 1``: exact for
times in whole units (tonic's microseconds with ``t_window`` in microseconds) and for SHD's
seconds with ``t_window = 1``. Note that a float32 time
that is not exactly representable (e.g. ``0.01``) may sit just below a bin edge.

:func:`shd_first_spike` is pure time-to-first-spike, one spike per channel, so the network
stays single-spike end-to-end (``conf/encoder/shd_first_spike.yaml``).

Option B of docs/method.md (every event binned, input current ``Σ_i ŵ_ji · n_i(t)`` from per-bin
event counts) is not provided: it is not an encoder choice but a different input layer. Its
counts are not spike times in ``[0, T]``, so no ``SpikeEncoder`` can hand them to
``SpikingNet``, whose layers (and their gradient rules) take one time per input. Binning
functions for it were exported and tested here but nothing could consume them, so they were
removed; the binning is the ``_bins`` helper below plus a scatter-add, to be written together
with a multi-spike input layer in ``bstdg.snn`` if option B is ever run.
"""

from __future__ import annotations

import torch

from ._validate import check_positive_finite, check_positive_int, check_T

__all__ = ["shd_first_spike"]


def _split_events(events: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(events, torch.Tensor):
        raise TypeError(f"events must be a torch.Tensor, got {type(events).__name__}")
    if events.dim() != 3 or events.shape[-1] != 2:
        raise ValueError(
            f"events must have shape (B, E, 2) = [time_seconds, unit], got {tuple(events.shape)}"
        )
    if not events.is_floating_point():
        raise TypeError(f"events must be a floating point tensor, got dtype {events.dtype}")
    return events[..., 0], events[..., 1]


def _in_window(times: torch.Tensor, t_window: float) -> torch.Tensor:
    # NaN compares False, +inf padding is >= t_window: both are excluded.
    return (times >= 0) & (times < t_window)


def _units_long(units: torch.Tensor, valid: torch.Tensor, n_channels: int) -> torch.Tensor:
    u = units.to(torch.long).masked_fill(~valid, 0)
    if u.numel() > 0:
        bad = valid & ((u < 0) | (u >= n_channels))
        if bool(bad.any()):
            lo = int(units[valid].min())
            hi = int(units[valid].max())
            raise ValueError(
                f"event units must lie in [0, {n_channels}), observed range [{lo}, {hi}]"
            )
    return u


def _bins(times: torch.Tensor, valid: torch.Tensor, T: int, t_window: float) -> torch.Tensor:
    wd = torch.float32 if times.device.type == "mps" else torch.float64
    tw = times.to(wd).masked_fill(~valid, 0.0)
    b = torch.floor(tw * T / t_window).to(torch.long).clamp_(0, T - 1)
    return b.masked_fill(~valid, T)


def shd_first_spike(
    events: torch.Tensor,
    T: int,
    n_channels: int = 700,
    t_window: float = 1.0,
) -> torch.Tensor:
    """First event of each channel as a single spike time (docs/method.md, option A).

    ``τ_c = min{t_k : unit_k = c, 0 <= t_k < t_window}`` (scatter_reduce ``amin``) and
    ``s_c = floor(τ_c / Δ)`` with ``Δ = t_window / T``. Channels with no in-window event
    give ``T`` (no spike).

    Args:
        events: float ``(B, E, 2)`` padded ``[time_seconds, unit]`` events.
        T: number of time steps (int >= 2).
        n_channels: number of input channels (SHD: 700); units must lie in ``[0, n_channels)``.
        t_window: length of the encoded window in seconds (> 0).

    Returns:
        ``torch.long`` tensor ``(B, n_channels)`` with values in ``[0, T]``, on the device of
        ``events``.
    """
    T = check_T(T)
    n_channels = check_positive_int("n_channels", n_channels)
    t_window = check_positive_finite("t_window", t_window)
    times, units = _split_events(events)
    valid = _in_window(times, t_window)
    u = _units_long(units, valid, n_channels)
    inf = torch.tensor(float("inf"), dtype=times.dtype, device=times.device)
    tau_src = torch.where(valid, times, inf)
    tau = torch.full(
        (times.shape[0], n_channels), float("inf"), dtype=times.dtype, device=times.device
    )
    tau = tau.scatter_reduce(1, u, tau_src, reduce="amin", include_self=True)
    has = torch.isfinite(tau)
    return _bins(tau, has, T, t_window)
