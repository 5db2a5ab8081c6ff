"""Spike rasters as small RGB images (numpy only: W&B writes them as PNG)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

BACKGROUND = (255, 255, 255)
SPIKE = (0, 0, 0)
LABEL_ROW = (198, 239, 206)  # the label neuron's row of an output raster
SEPARATOR = (160, 160, 160)
MIN_PANEL_WIDTH = 64
MIN_HEIGHT = 40


def _panel(times: np.ndarray, T: int, label: int | None) -> np.ndarray:
    """(N, T, 3) raster of one sample, before scaling."""
    n_neurons = times.shape[0]
    panel = np.empty((n_neurons, T, 3), dtype=np.uint8)
    panel[:] = BACKGROUND
    if label is not None and 0 <= label < n_neurons:
        panel[label] = LABEL_ROW
    fired = np.flatnonzero((times >= 0) & (times < T))
    panel[fired, times[fired].astype(np.int64)] = SPIKE
    return panel


def raster_image(times: np.ndarray, T: int, labels: Sequence[int] | None = None) -> np.ndarray:
    """A (H, W, 3) uint8 raster of spike ``times`` (S samples, N neurons; ``>= T`` = no
    spike): one panel per sample side by side, time to the right, neuron 0 on top, a black
    pixel per spike, panels parted by a grey column. Short or narrow rasters are scaled up
    by whole pixels; with ``labels`` (an output layer) each panel's label row is tinted."""
    times = np.asarray(times)
    if times.ndim != 2 or times.shape[0] < 1 or T < 1:
        raise ValueError(f"raster_image needs (samples >= 1, neurons) times and T >= 1, "
                         f"got shape {times.shape} and T={T}")
    n_neurons = times.shape[1]
    sx = max(1, -(-MIN_PANEL_WIDTH // T))
    sy = max(1, -(-MIN_HEIGHT // max(1, n_neurons)))
    separator = np.empty((n_neurons * sy, 1, 3), dtype=np.uint8)
    separator[:] = SEPARATOR
    parts: list[np.ndarray] = []
    for s, row in enumerate(times):
        label = None if labels is None else int(labels[s])
        panel = np.repeat(np.repeat(_panel(row, T, label), sy, axis=0), sx, axis=1)
        parts += [separator, panel] if parts else [panel]
    return np.concatenate(parts, axis=1)


def raster_plot(times: np.ndarray, T: int, titles: Sequence[str],
                labels: Sequence[int] | None = None, name: str = "") -> np.ndarray:
    """The rasters of :func:`raster_image` drawn with axes: one panel per sample, x = time
    step (0 .. T - 1), y = neuron index (0 on top), each panel titled by ``titles``; returned
    as an (H, W, 3) uint8 image (matplotlib's Agg canvas, no pyplot state)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    times = np.asarray(times)
    n_samples = times.shape[0]
    fig = Figure(figsize=(2.2 * n_samples + 0.6, 2.6), dpi=100, layout="constrained")
    FigureCanvasAgg(fig)
    axes = fig.subplots(1, n_samples, squeeze=False, sharey=True)[0]
    for s, ax in enumerate(axes):
        label = None if labels is None else int(labels[s])
        ax.imshow(_panel(times[s], T, label), aspect="auto", interpolation="nearest",
                  extent=(-0.5, T - 0.5, times.shape[1] - 0.5, -0.5))
        ax.set_title(titles[s], fontsize=8)
        ax.set_xlabel("time step", fontsize=8)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.tick_params(labelsize=7)
    axes[0].set_ylabel(f"{name} neuron".strip(), fontsize=8)
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()
