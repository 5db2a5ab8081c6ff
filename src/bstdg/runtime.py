"""Numpy-only runtime of a network exported by ``bstdg-export`` (no torch, no Lightning).

    import bstdg.runtime as rt
    model = rt.load("logs/export/runs/<run>/model.npz")
    pred = model.predict(x_uint8)            # (B, n_inputs) uint8 -> (B,) class indices
    out = model.forward(model.encode(x_uint8))   # spike times of every layer

The model is the platform's single-spike IF network, simulated exactly in integers:

    V_j(t) = sum_i w_ji [t_i <= t],  w_ji = +-1 (sign(W), sign(0) = +1)
    t_j    = min{t + d : V_j(t) > theta_j, t + d <= T - 1 - window_trim}, else T (no spike)

over steps t = 0 .. T-1; an input time T means "no spike". Work per sample is event driven:
the spiking inputs are sorted by time and their +-1 rows accumulated (cumulative sums), and
each neuron's first crossing is looked up at the distinct input times only. The decision is
the platform's (``bstdg.snn.readout.decide``): the earliest output spike wins, ties go to the
larger potential at the firing step, then to the lower index; with no output spike the
fallback decides (``max_potential``: argmax of V_out(T - fallback_offset)).

File format (``FORMAT``, version ``FORMAT_VERSION``): an ``.npz`` archive readable with
``np.load(path, allow_pickle=False)``. ``metadata`` is a JSON string (sizes, T, delay,
encoder, decision rule, versions, the source checkpoint's SHA-256, and the shape, dtype and
SHA-256 of every array); ``layer{k}.weight_bits`` holds layer k's sign bits as
``np.packbits(W >= 0, axis=1)`` (bit 1 = +1, big-endian bit order, rows padded with 0 bits);
``layer{k}.threshold`` its float32 thresholds as the forward uses them (for integer V,
V > theta <=> V > floor(theta)); ``encoder.table`` the spike time of each uint8 intensity
(image latency codes).
"""

from __future__ import annotations

import hashlib
import json
import math
import zipfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

__all__ = [
    "FORMAT",
    "FORMAT_VERSION",
    "ExportFormatError",
    "ExportedModel",
    "RuntimeOutput",
    "array_entry",
    "decide",
    "layer_forward",
    "load",
]

FORMAT = "bstdg-snn"
FORMAT_VERSION = 1
FALLBACKS = ("max_potential", "lowest_index", "none")
IMAGE_ENCODERS = ("latency",)
EVENT_ENCODERS = ("shd_first_spike",)


class ExportFormatError(ValueError):
    """An exported model file is unreadable, truncated, altered or of another version."""


class RuntimeOutput(NamedTuple):
    """Spike times of every layer (last = output), and the output layer's potentials.

    times:  list of (B, N_l) int64 in [0, T] (T = no spike).
    v_fire: (B, N_out) int64, V_j at the crossing step (window-end potential if silent).
    v_end:  (B, N_out) int64, V_j(T - fallback_offset) (decides a sample with no spike).
    """

    times: list[np.ndarray]
    v_fire: np.ndarray
    v_end: np.ndarray

    @property
    def out_times(self) -> np.ndarray:
        return self.times[-1]


def array_entry(array: np.ndarray) -> dict[str, Any]:
    """What the metadata records of an array: shape, dtype and SHA-256 of its bytes."""
    data = np.ascontiguousarray(array)
    return {"shape": list(data.shape), "dtype": data.dtype.str,
            "sha256": hashlib.sha256(data.tobytes()).hexdigest()}


def layer_forward(
    t_in: np.ndarray,
    w_t: np.ndarray,
    theta: np.ndarray,
    T: int,
    delay: int,
    window_trim: int = 0,
    v_at: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One single-spike IF layer, exact in integers: (times, v_fire, v_end), each (B, N_out).

    ``t_in`` (B, N_in) integer times in [0, T]; ``w_t`` (N_in, N_out) the +-1 weights
    transposed (int32); ``theta`` (N_out,) thresholds. Steps t <= T - 1 - window_trim are
    simulated; a crossing at step t fires at t + delay if that is inside the simulated window.
    ``v_end`` is V(v_at) (default: the last simulated step) from all inputs with t_i <= v_at.
    """
    t_sim = T - window_trim
    last = t_sim - 1 - delay  # last step whose crossing still fires inside the window
    v_at = t_sim - 1 if v_at is None else int(v_at)
    batch, n_out = t_in.shape[0], w_t.shape[1]
    thr = np.floor(theta.astype(np.float64))  # V > theta <=> V > floor(theta), V integer
    times = np.full((batch, n_out), T, dtype=np.int64)
    v_fire = np.zeros((batch, n_out), dtype=np.int64)
    v_end = np.zeros((batch, n_out), dtype=np.int64)
    zero = np.zeros((1, n_out), dtype=np.int64)
    for b in range(batch):
        row = t_in[b]
        spiking = np.flatnonzero(row < T)
        order = spiking[np.argsort(row[spiking], kind="stable")]
        ts = row[order]
        csum = np.cumsum(w_t[order], axis=0, dtype=np.int64)  # V after each input
        # the distinct input times and V at each of them (the last input of each time bin)
        ends = np.flatnonzero(np.diff(ts, append=T + 1) != 0)
        steps, pots = ts[ends], csum[ends]
        if not steps.size or steps[0] != 0:  # V(0) = 0 when no input spikes at step 0
            steps = np.concatenate([[0], steps])
            pots = np.concatenate([zero, pots])
        window_end = pots[int(np.searchsorted(steps, t_sim - 1, side="right")) - 1]
        v_end[b] = pots[int(np.searchsorted(steps, v_at, side="right")) - 1]
        v_fire[b] = window_end
        n_valid = int(np.searchsorted(steps, last, side="right")) if last >= 0 else 0
        if n_valid:
            cross = pots[:n_valid] > thr  # (steps, N_out): V(step) > theta
            fired = cross.any(axis=0)
            first = cross.argmax(axis=0)  # the first crossing step of each neuron
            times[b] = np.where(fired, steps[first] + delay, T)
            v_fire[b] = np.where(fired, pots[first, np.arange(n_out)], window_end)
    return times, v_fire, v_end


def decide(out: RuntimeOutput, T: int, fallback: str = "max_potential") -> np.ndarray:
    """Class per sample (B,) int64, as ``bstdg.snn.readout.decide``: earliest output spike,
    ties to the larger V at the firing step then the lower index; no output spike:
    ``max_potential`` argmax V_out(T - fallback_offset), ``lowest_index`` 0, ``none`` -1."""
    if fallback not in FALLBACKS:
        raise ValueError(f"unknown fallback {fallback!r}; valid: {', '.join(FALLBACKS)}")
    times = out.out_times
    t_min = times.min(axis=1, keepdims=True)
    score = np.where(times == t_min, out.v_fire.astype(np.float64), -np.inf)
    pred = score.argmax(axis=1)
    if fallback == "max_potential":
        silent = out.v_end.argmax(axis=1)
    else:
        silent = np.full_like(pred, 0 if fallback == "lowest_index" else -1)
    return np.where(t_min[:, 0] < T, pred, silent).astype(np.int64)


def _shd_first_spike(events: np.ndarray, T: int, n_channels: int, t_window: float) -> np.ndarray:
    """SHD events (B, E, 2) [time_seconds, unit] -> first-spike times (B, n_channels):
    s_c = floor(tau_c * T / t_window) (float64, clamped to T - 1), tau_c the first event of
    channel c in [0, t_window); T for a silent channel (``bstdg.encoding.shd_first_spike``)."""
    ev = np.asarray(events)
    if ev.ndim != 3 or ev.shape[-1] != 2 or not np.issubdtype(ev.dtype, np.floating):
        raise ValueError(f"SHD events must be a float array (B, E, 2) = [time_seconds, unit], "
                         f"got {ev.dtype} {ev.shape}")
    t, u = ev[..., 0], ev[..., 1]
    valid = (t >= 0) & (t < t_window)
    units = np.where(valid, u, 0).astype(np.int64)
    if np.any(valid & ((units < 0) | (units >= n_channels))):
        raise ValueError(f"event units must lie in [0, {n_channels})")
    tau = np.full((ev.shape[0], n_channels), np.inf, dtype=t.dtype)
    rows = np.broadcast_to(np.arange(ev.shape[0])[:, None], units.shape)
    np.minimum.at(tau, (rows[valid], units[valid]), t[valid])
    has = np.isfinite(tau)
    bins = np.floor(np.where(has, tau, 0).astype(np.float64) * T / t_window)
    return np.where(has, np.clip(bins.astype(np.int64), 0, T - 1), T)


class ExportedModel:
    """A loaded export: ``encode`` raw inputs, ``forward`` spike times, ``predict`` classes.

    Attributes: ``sizes`` [n_inputs, hidden..., n_classes], ``T``, ``delay``,
    ``window_trim``, ``fallback``, ``fallback_offset``, ``weights`` (list of (N_out, N_in)
    int8 +-1), ``thresholds`` (list of (N_out,) float32), ``metadata`` (the JSON dict),
    ``path``.
    """

    def __init__(self, metadata: dict[str, Any], weights: list[np.ndarray],
                 thresholds: list[np.ndarray], table: np.ndarray | None, path: Path) -> None:
        self.metadata = metadata
        self.path = path
        self.sizes = [int(n) for n in metadata["sizes"]]
        self.T = int(metadata["T"])
        self.delay = int(metadata["delay"])
        self.window_trim = int(metadata.get("window_trim", 0))
        decision = metadata["decision"]
        self.fallback = str(decision["fallback"])
        self.fallback_offset = int(decision["fallback_offset"])
        self.encoder = dict(metadata["encoder"])
        self.weights = weights
        self.thresholds = thresholds
        self.table = table
        self._w_t = [np.ascontiguousarray(w.T, dtype=np.int32) for w in weights]

    def __repr__(self) -> str:
        return (f"ExportedModel({'-'.join(map(str, self.sizes))}, T={self.T}, "
                f"delay={self.delay}, encoder={self.encoder.get('kind')}, path={self.path})")

    @property
    def n_inputs(self) -> int:
        return self.sizes[0]

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs -> spike times (B, n_inputs) int64 in [0, T], as the run's encoder.

        Latency codes take uint8 intensities (B, n_inputs) (``encoder.table[x]``: the time
        the platform's encoder gives each intensity); ``shd_first_spike`` takes float events
        (B, E, 2)."""
        kind = self.encoder.get("kind")
        if kind in EVENT_ENCODERS:
            return _shd_first_spike(x, self.T, int(self.encoder["n_channels"]),
                                    float(self.encoder["t_window"]))
        if self.table is None:
            raise ValueError(f"{self.path} has no input encoder (encoder {kind!r}); pass "
                             f"spike times to forward() instead")
        x = np.asarray(x)
        if x.dtype != np.uint8:
            raise TypeError(f"encode() takes uint8 intensities 0..255 (the data's raw "
                            f"format), got {x.dtype}; convert with np.uint8 first")
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"inputs must have shape (batch, {self.n_inputs}), got {x.shape}")
        return self.table[x].astype(np.int64)

    def _check_times(self, times: np.ndarray) -> np.ndarray:
        t = np.asarray(times)
        if t.ndim != 2 or t.shape[1] != self.n_inputs:
            raise ValueError(f"spike times must have shape (batch, {self.n_inputs}), "
                             f"got {t.shape}")
        if np.issubdtype(t.dtype, np.floating):
            if not np.all(np.isfinite(t)) or np.any(t != np.round(t)):
                raise ValueError("spike times must be integers in [0, T] (T = no spike); "
                                 "got NaN, infinite or fractional values")
        elif not np.issubdtype(t.dtype, np.integer):
            raise TypeError(f"spike times must be integers, got {t.dtype}")
        t = t.astype(np.int64)
        if t.size and (t.min() < 0 or t.max() > self.T):
            raise ValueError(f"spike times must lie in [0, T={self.T}] (T = no spike), got "
                             f"range [{t.min()}, {t.max()}]")
        return t

    def forward(self, times: np.ndarray) -> RuntimeOutput:
        """Input spike times (B, n_inputs) -> spike times of every layer and the output
        potentials (see :class:`RuntimeOutput`); equal to the platform's ``SpikingNet``."""
        t = self._check_times(times)
        out_times: list[np.ndarray] = []
        v_fire = v_end = np.zeros((t.shape[0], 0), dtype=np.int64)
        n_layers = len(self._w_t)
        for k, (w_t, theta) in enumerate(zip(self._w_t, self.thresholds, strict=True)):
            v_at = self.T - self.fallback_offset if k == n_layers - 1 else None
            t, v_fire, v_end = layer_forward(t, w_t, theta, self.T, self.delay,
                                             self.window_trim, v_at)
            out_times.append(t)
        return RuntimeOutput(out_times, v_fire, v_end)

    def decide(self, out: RuntimeOutput) -> np.ndarray:
        """Class decisions (B,) of a forward output (see :func:`decide`)."""
        return decide(out, self.T, self.fallback)

    def predict(self, x: np.ndarray) -> np.ndarray:
        """Raw inputs -> class indices (B,) int64 (-1: no decision, fallback ``none``)."""
        return self.decide(self.forward(self.encode(x)))


def _fail(path: Path, what: str) -> ExportFormatError:
    return ExportFormatError(
        f"{path}: {what}. Re-export the checkpoint with `bstdg-export ckpt_path=<.ckpt>` "
        f"(this runtime reads {FORMAT} version {FORMAT_VERSION})."
    )


def _read_members(path: Path) -> dict[str, np.ndarray]:
    try:
        archive = np.load(path, allow_pickle=False)
        if not isinstance(archive, np.lib.npyio.NpzFile):
            raise _fail(path, "holds a single array, not an .npz archive; it is not a "
                              "bstdg export")
        with archive:
            return {name: archive[name] for name in archive.files}
    except ExportFormatError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as exc:
        first = (str(exc).splitlines() or [""])[0]
        raise _fail(path, f"cannot be read as an .npz archive ({type(exc).__name__}: "
                          f"{first}); the file is truncated, corrupt or not a bstdg export"
                    ) from exc


def _metadata(path: Path, members: Mapping[str, np.ndarray]) -> dict[str, Any]:
    if "metadata" not in members:
        raise _fail(path, "has no 'metadata' entry; it is not a bstdg export")
    raw = members["metadata"]
    try:
        meta = json.loads(str(raw.item()) if raw.dtype.kind == "U" else raw.tobytes().decode())
    except (ValueError, UnicodeDecodeError) as exc:
        raise _fail(path, f"its metadata is not valid JSON ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise _fail(path, f"is not a {FORMAT} file (format {found!r})")
    version = meta.get("format_version")
    if version != FORMAT_VERSION:
        writer = (meta.get("versions") or {}).get("bstdg", "unknown")
        raise _fail(path, f"has format version {version!r}, this runtime reads version "
                          f"{FORMAT_VERSION} (the file was written by bstdg {writer}; load it "
                          f"with that version)")
    for key in ("sizes", "T", "delay", "decision", "encoder", "arrays"):
        if key not in meta:
            raise _fail(path, f"its metadata lacks '{key}'")
    return meta


def _array(path: Path, members: Mapping[str, np.ndarray], meta: Mapping[str, Any], name: str,
           shape: Sequence[int], dtype: str) -> np.ndarray:
    """Member ``name``, checked against the shape the sizes imply, its dtype and the
    metadata's record (shape, dtype, SHA-256)."""
    if name not in members:
        raise _fail(path, f"lacks the array '{name}'")
    arr = members[name]
    expected = tuple(int(n) for n in shape)
    if arr.shape != expected:
        raise _fail(path, f"array '{name}' has shape {arr.shape}, expected {expected} from the "
                          f"layer sizes {meta['sizes']}")
    if arr.dtype != np.dtype(dtype):
        raise _fail(path, f"array '{name}' has dtype {arr.dtype}, expected {np.dtype(dtype)}")
    record = meta["arrays"].get(name)
    if not isinstance(record, Mapping) or record != array_entry(arr):
        raise _fail(path, f"array '{name}' does not match the checksum in the metadata; the "
                          f"file was altered or corrupted")
    return arr


def load(path: str | Path) -> ExportedModel:
    """Read a ``bstdg-export`` file (``.npz``, no pickle) into an :class:`ExportedModel`.

    Refuses (``ExportFormatError``, naming the file and what is wrong) a file of another
    format or version, arrays whose shapes do not fit the layer sizes, altered arrays
    (SHA-256) and truncated or corrupt archives."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"exported model not found: {path}. Write one with "
                                f"`bstdg-export ckpt_path=RUN/checkpoints/last.ckpt`.")
    members = _read_members(path)
    meta = _metadata(path, members)
    sizes = meta["sizes"]
    if (not isinstance(sizes, list) or len(sizes) < 2
            or not all(isinstance(n, int) and n >= 1 for n in sizes)):
        raise _fail(path, f"its layer sizes {sizes!r} are not a list of >= 2 positive integers")
    T, delay = meta["T"], meta["delay"]
    trim = meta.get("window_trim", 0)
    if not (isinstance(T, int) and T >= 2 and isinstance(trim, int) and 0 <= trim <= T - 2
            and isinstance(delay, int) and 0 <= delay <= T - 1 - trim):
        raise _fail(path, f"T={T!r}, delay={delay!r}, window_trim={trim!r} are out of range")
    decision = meta["decision"]
    offset = decision.get("fallback_offset") if isinstance(decision, Mapping) else None
    if (not isinstance(decision, Mapping) or decision.get("fallback") not in FALLBACKS
            or not isinstance(offset, int) or not 1 <= offset <= T):
        raise _fail(path, f"its decision rule {decision!r} is not valid (fallback one of "
                          f"{FALLBACKS}, fallback_offset in [1, T])")
    weights, thresholds = [], []
    for k in range(len(sizes) - 1):
        n_in, n_out = sizes[k], sizes[k + 1]
        bits = _array(path, members, meta, f"layer{k}.weight_bits",
                      (n_out, math.ceil(n_in / 8)), "uint8")
        unpacked = np.unpackbits(bits, axis=1)
        if unpacked[:, n_in:].any():
            raise _fail(path, f"layer{k}.weight_bits has set padding bits past {n_in} inputs")
        weights.append(np.where(unpacked[:, :n_in] == 1, 1, -1).astype(np.int8))
        theta = _array(path, members, meta, f"layer{k}.threshold", (n_out,), "float32")
        if not np.all(np.isfinite(theta)):
            raise _fail(path, f"layer{k}.threshold holds NaN or infinite values")
        thresholds.append(theta)
    table = None
    kind = (meta["encoder"] or {}).get("kind") if isinstance(meta["encoder"], Mapping) else None
    if kind in IMAGE_ENCODERS:
        table = _array(path, members, meta, "encoder.table", (256,), "int32")
        if table.min() < 0 or table.max() > T:
            raise _fail(path, f"encoder.table holds spike times outside [0, T={T}]")
    elif kind not in EVENT_ENCODERS and kind is not None:
        raise _fail(path, f"its encoder kind {kind!r} is unknown to this runtime")
    return ExportedModel(meta, weights, thresholds, table, path)
