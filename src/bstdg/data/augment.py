"""Training-time augmentation of flattened image batches (pure torch, any device)."""

from __future__ import annotations

import torch
import torch.nn.functional as F

from bstdg.data.errors import InvalidDataConfigError


def check_shift(max_shift: int, image_shape: tuple[int, ...] | None, name: str) -> None:
    """Refuse a negative or non-int shift, or a shift on data without an image shape."""
    if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
        raise InvalidDataConfigError(
            f"augment_shift={max_shift!r} is invalid: use an int >= 0 (pixels; 0 = off)."
        )
    if max_shift and image_shape is None:
        raise InvalidDataConfigError(
            f"augment_shift={max_shift} needs images, but {name} batches have no image "
            f"shape: set data.augment_shift=0."
        )
    if max_shift and image_shape is not None and max_shift >= min(image_shape[-2:]):
        raise InvalidDataConfigError(
            f"augment_shift={max_shift} is as large as the {image_shape[-2:]} images: "
            f"use a shift of a few pixels."
        )


def random_shift(
    x: torch.Tensor, image_shape: tuple[int, int, int], max_shift: int,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """Translate each image of ``x`` (B, C*H*W) by integers (dy, dx) ~ U{-s..s}, zero-filled.

    ``out[b, c, i, j] = x[b, c, i - dy_b, j - dx_b]`` where the source pixel exists, else 0
    (0 is the silent intensity of every latency code here). Same dtype and shape as ``x``.
    """
    if max_shift == 0 or x.shape[0] == 0:
        return x
    c, h, w = image_shape
    s = max_shift
    b = x.shape[0]
    shifts = torch.randint(-s, s + 1, (2, b), generator=generator).to(x.device)
    padded = F.pad(x.reshape(b, c, h, w), (s, s, s, s))
    rows = (torch.arange(h, device=x.device) + s).unsqueeze(0) - shifts[0].unsqueeze(1)
    cols = (torch.arange(w, device=x.device) + s).unsqueeze(0) - shifts[1].unsqueeze(1)
    batch = torch.arange(b, device=x.device)[:, None, None, None]
    chan = torch.arange(c, device=x.device)[None, :, None, None]
    out = padded[batch, chan, rows[:, None, :, None], cols[:, None, None, :]]
    return out.reshape(b, c * h * w)
