"""InferenceTimer: re-batches equal-shaped test inputs, keeps ragged (SHD) batches as they are."""

from __future__ import annotations

import torch

from bstdg.lit.callbacks import InferenceTimer


def _loader(shapes: list[tuple[int, ...]]) -> list[tuple[torch.Tensor, torch.Tensor]]:
    return [(torch.zeros(shape), torch.zeros(shape[0])) for shape in shapes]


def test_equal_shapes_are_rebatched_up_to_max_samples() -> None:
    timer = InferenceTimer(max_samples=100, batch_size=64)
    batches = timer._batches(_loader([(32, 784)] * 5), torch.device("cpu"))
    assert [b.shape[0] for b in batches] == [64, 36]


def test_ragged_batches_are_timed_as_the_loader_gives_them() -> None:
    timer = InferenceTimer(max_samples=100, batch_size=64)
    batches = timer._batches(_loader([(32, 50, 2), (32, 70, 2), (32, 20, 2)]),
                             torch.device("cpu"))
    assert [tuple(b.shape) for b in batches] == [(32, 50, 2), (32, 70, 2), (32, 20, 2)]
