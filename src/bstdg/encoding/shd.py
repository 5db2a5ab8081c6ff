"""Spiking Heidelberg Digits events to spike times (method.md §2.1.4).

Input batch format: ``events`` float tensor ``(B, E, 2)`` of padded events
``[time_seconds, unit]``; padding rows have time ``+inf`` (and unit 0).

Only events with ``0 <= time < t_window`` are used ("in-window"); padding (``+inf``),
NaN, negative times and times ``>= t_window`` are ignored. An in-window event at time τ
falls into bin ``floor(τ·T/t_window)`` (i.e. ``floor(τ/Δ)``, ``Δ = t_window/T``), evaluated
in float64 on the stored (float32) time and clamped to ``T - 1``. Note that a float32 time
that is not exactly representable (e.g. ``0.01``) may sit just below a bin edge.

* Option A, :func:`shd_first_spike` — pure time-to-first-spike, one spike per channel.
  **This is what the network consumes today** (strictly single-spike end-to-end).
* Option B, :func:`shd_binned_events` + :func:`bin_counts` — every event keeps its bin;
  counts per (bin, channel) are implicit (duplicate pairs) or built as a sparse COO
  tensor. Not used by the network yet (kept behind a flag upstream).
"""

from __future__ import annotations

import torch

from ._validate import check_positive_finite, check_positive_int, check_T

__all__ = ["shd_first_spike", "shd_binned_events", "bin_counts"]


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


def _units_long(units: torch.Tensor, valid: torch.Tensor, n_channels: int | None) -> torch.Tensor:
    u = units.to(torch.long).masked_fill(~valid, 0)
    if n_channels is not None and u.numel() > 0:
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
    b = torch.floor(tw * (T / t_window)).to(torch.long).clamp_(0, T - 1)
    return b.masked_fill(~valid, T)


def shd_first_spike(
    events: torch.Tensor,
    T: int,
    n_channels: int = 700,
    t_window: float = 1.0,
) -> torch.Tensor:
    """Option A: first event of each channel as a single spike time.

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


def shd_binned_events(
    events: torch.Tensor,
    T: int,
    t_window: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Option B: the time bin of every event, ``bin_k = floor(t_k / Δ)``, ``Δ = t_window / T``.

    Events outside ``[0, t_window)`` and padding rows get bin ``T``. The number of events
    of channel c in bin t, n_c(t), is the number of k with ``(bins[k], units[k]) = (t, c)``;
    use :func:`bin_counts` for a sparse tensor. Not consumed by the network today
    (it uses Option A, :func:`shd_first_spike`).

    Args:
        events: float ``(B, E, 2)`` padded ``[time_seconds, unit]`` events.
        T: number of time bins (int >= 2).
        t_window: window length in seconds (> 0).

    Returns:
        ``(bins, units)``, both ``torch.long`` ``(B, E)`` on the device of ``events``;
        ``bins`` in ``[0, T]``. ``units`` are the event units (0 where ``bins == T``).
    """
    T = check_T(T)
    t_window = check_positive_finite("t_window", t_window)
    times, units = _split_events(events)
    valid = _in_window(times, t_window)
    u = _units_long(units, valid, None)
    return _bins(times, valid, T, t_window), u


def bin_counts(
    bins: torch.Tensor,
    units: torch.Tensor,
    T: int,
    n_channels: int = 700,
) -> torch.Tensor:
    """Sparse event counts ``n[b, t, c] = #{k : bins[b, k] = t, units[b, k] = c}``.

    Entries with ``bins == T`` (outside the window / padding) are dropped.

    Args:
        bins: ``torch.long`` ``(B, E)`` from :func:`shd_binned_events`, values in ``[0, T]``.
        units: ``torch.long`` ``(B, E)`` channel ids in ``[0, n_channels)``.
        T: number of time bins (int >= 2).
        n_channels: number of channels.

    Returns:
        Coalesced ``torch.sparse_coo_tensor`` of shape ``(B, T, n_channels)``, dtype int64
        (never dense).
    """
    T = check_T(T)
    n_channels = check_positive_int("n_channels", n_channels)
    if bins.shape != units.shape or bins.dim() != 2:
        raise ValueError(
            f"bins and units must both be (B, E), got {tuple(bins.shape)} and {tuple(units.shape)}"
        )
    if bins.numel() > 0 and bool(((bins < 0) | (bins > T)).any()):
        raise ValueError(f"bins must lie in [0, {T}] (T = outside the window)")
    keep = bins < T
    b_idx, e_idx = keep.nonzero(as_tuple=True)
    t_idx = bins[b_idx, e_idx].to(torch.long)
    c_idx = units[b_idx, e_idx].to(torch.long)
    if c_idx.numel() > 0 and bool(((c_idx < 0) | (c_idx >= n_channels)).any()):
        raise ValueError(
            f"units must lie in [0, {n_channels}), observed range "
            f"[{int(c_idx.min())}, {int(c_idx.max())}]"
        )
    indices = torch.stack([b_idx, t_idx, c_idx])
    values = torch.ones(c_idx.numel(), dtype=torch.long, device=bins.device)
    return torch.sparse_coo_tensor(
        indices,
        values,
        size=(bins.shape[0], T, n_channels),
        device=bins.device,
        check_invariants=False,  # indices were range-checked above
    ).coalesce()
