"""Difference-of-Gaussians ON/OFF filtering of greyscale images (torch conv, no scipy)."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


def gaussian_kernel(sigma: float, size: int) -> torch.Tensor:
    """Normalized 1-D Gaussian of odd length `size`."""
    r = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    k = torch.exp(-(r**2) / (2 * sigma**2))
    return k / k.sum()


def _blur(x: torch.Tensor, sigma: float, size: int) -> torch.Tensor:
    k = gaussian_kernel(sigma, size).to(x.dtype)
    pad = size // 2
    x = F.conv2d(F.pad(x, (pad, pad, 0, 0), mode="replicate"), k.view(1, 1, 1, -1))
    return F.conv2d(F.pad(x, (0, 0, pad, pad), mode="replicate"), k.view(1, 1, -1, 1))


def dog_on_off(
    images: np.ndarray, sigma1: float = 1.0, sigma2: float = 2.0, size: int = 7, chunk: int = 64
) -> np.ndarray:
    """ON/OFF DoG channels of uint8 images (N, H, W) → uint8 (N, 2, H, W).

    DoG = G(sigma1) * img - G(sigma2) * img; ON = max(DoG, 0), OFF = max(-DoG, 0); both
    channels of one image are rescaled together so that its largest response is 255
    (responses weaker than one grey level are not amplified, so flat images stay 0).
    """
    images = np.asarray(images, dtype=np.uint8)
    out = np.empty((len(images), 2, *images.shape[1:]), dtype=np.uint8)
    for start in range(0, len(images), chunk):
        x = torch.from_numpy(images[start : start + chunk]).to(torch.float32).unsqueeze(1) / 255
        dog = _blur(x, sigma1, size) - _blur(x, sigma2, size)
        on_off = torch.cat([dog.clamp(min=0), (-dog).clamp(min=0)], dim=1)
        peak = on_off.amax(dim=(1, 2, 3), keepdim=True).clamp(min=1 / 255)
        out[start : start + chunk] = (on_off / peak * 255.0).round().to(torch.uint8).numpy()
    return out
