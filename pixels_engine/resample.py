"""Resampling with torch: layers to the working size and back, maps to the latent grid."""

import numpy as np
import torch
import torch.nn.functional as F


def resize(array: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Resample an H x W (x C) float array to (width, height), antialiased when shrinking."""
    width, height = size
    if array.shape[1] == width and array.shape[0] == height:
        return array
    t = torch.from_numpy(np.ascontiguousarray(array))
    t = t[None, None] if t.ndim == 2 else t.permute(2, 0, 1)[None]
    out = F.interpolate(
        t, size=(height, width), mode="bicubic", antialias=True, align_corners=False
    )
    out = out[0, 0] if array.ndim == 2 else out[0].permute(1, 2, 0)
    return out.clamp(0, 1).numpy()


def to_latent(m: np.ndarray, height: int, width: int) -> torch.Tensor:
    """Area-average a pixel map onto the latent grid (no aliasing of thin features)."""
    t = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(height, width), mode="area")[0, 0]
