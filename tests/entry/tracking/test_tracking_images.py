"""Spike-raster images."""

from __future__ import annotations

import numpy as np
import pytest

from bstdg.tracking.images import (
    BACKGROUND,
    LABEL_ROW,
    SEPARATOR,
    SPIKE,
    raster_image,
    raster_plot,
)


def test_one_panel_per_sample_with_a_pixel_block_per_spike() -> None:
    times = np.array([[0, 3, 8], [7, 8, 1]])  # T = 8: 8 means "no spike"
    image = raster_image(times, T=8)
    sx, sy = 64 // 8, -(-40 // 3)
    assert image.shape == (3 * sy, 2 * 8 * sx + 1, 3) and image.dtype == np.uint8
    spikes = np.argwhere((image == SPIKE).all(-1))
    assert {(r // sy, c // sx) for r, c in spikes if c < 8 * sx} == {(0, 0), (1, 3)}
    right = 8 * sx + 1
    assert {(r // sy, (c - right) // sx) for r, c in spikes if c >= right} == {(0, 7), (2, 1)}
    assert (image[:, 8 * sx] == SEPARATOR).all()
    assert (image[2 * sy:, : 8 * sx] == BACKGROUND).all()  # neuron 2 of sample 0 is silent


def test_the_label_row_of_an_output_raster_is_tinted() -> None:
    image = raster_image(np.full((1, 4), 16), T=16, labels=[2])
    rows = {tuple(image[r, 0]) for r in range(image.shape[0])}
    assert LABEL_ROW in rows and BACKGROUND in rows
    sy = image.shape[0] // 4
    assert (image[2 * sy: 3 * sy] == LABEL_ROW).all()


def test_wide_layers_keep_one_row_per_neuron() -> None:
    assert raster_image(np.zeros((4, 784)), T=256).shape == (784, 4 * 256 + 3, 3)


@pytest.mark.parametrize("times,T", [(np.zeros(5), 8), (np.zeros((0, 3)), 8),
                                     (np.zeros((1, 3)), 0)])
def test_bad_input_is_refused(times: np.ndarray, T: int) -> None:
    with pytest.raises(ValueError, match="raster_image needs"):
        raster_image(times, T)


def test_raster_plot_has_one_panel_per_sample_with_axes() -> None:
    times = np.array([[0, 3, 8], [7, 8, 1]])
    image = raster_plot(times, T=8, titles=["label 1, predicted 1", "label 0, predicted 2"],
                        labels=[1, 0], name="layer2")
    assert image.dtype == np.uint8 and image.ndim == 3 and image.shape[2] == 3
    assert image.shape[1] > image.shape[0]  # two panels side by side
    blank = raster_plot(times, T=8, titles=["", ""])
    assert not np.array_equal(image[: blank.shape[0], : blank.shape[1]], blank)  # titles drawn
