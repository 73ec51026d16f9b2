"""Edit maps: white keeps the source, black takes the exemplar, grey is released late.

Maps are float arrays in [0, 1] on the source canvas. The tools here are the ones a
painter expects (grow/shrink, feather, levels, invert, quantise), plus the automatic
map from an exemplar's alpha and the area-averaged reduction to the latent grid.
"""

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from scipy import ndimage

from . import region

# Values within this of 0 or 1 count as black or white: JPEG and blur rarely hit 0 exactly.
TOLERANCE = 0.02


def snap(m: np.ndarray, tolerance: float = TOLERANCE) -> np.ndarray:
    """Make near-black exactly 0 and near-white exactly 1."""
    out = m.astype(np.float32, copy=True)
    out[out <= tolerance] = 0.0
    out[out >= 1.0 - tolerance] = 1.0
    return out


def from_alpha(alpha: np.ndarray, transition: float) -> np.ndarray:
    """0 where the exemplar is, a ramp to 1 across `transition` pixels, 1 beyond.

    The distance transform runs only on the exemplar's box grown by the transition:
    every pixel farther away is 1 anyway."""
    present = alpha >= 0.5
    out = np.ones(alpha.shape, np.float32)
    box = region.bounding_box(present)
    if box is None:
        return out
    if transition <= 0:
        out[present] = 0.0
        return out
    height, width = alpha.shape
    x0, y0, x1, y1 = region.with_margin(box, math.ceil(transition) + 1, width, height)
    distance = ndimage.distance_transform_edt(~present[y0:y1, x0:x1])
    out[y0:y1, x0:x1] = np.clip(distance / transition, 0.0, 1.0)
    return out


def disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


def grow(m: np.ndarray, pixels: int) -> np.ndarray:
    """Grow the edited (dark) area by `pixels`; a negative value shrinks it."""
    if pixels == 0:
        return m
    footprint = disk(abs(pixels))
    op = ndimage.grey_erosion if pixels > 0 else ndimage.grey_dilation
    return op(m, footprint=footprint, mode="nearest")


def feather(m: np.ndarray, pixels: float) -> np.ndarray:
    """Soften edges with a Gaussian blur whose visible reach is about `pixels`."""
    if pixels <= 0:
        return m
    return ndimage.gaussian_filter(m, sigma=pixels / 3.0, mode="nearest")


def levels(m: np.ndarray, low: float = 0.0, high: float = 1.0, gamma: float = 1.0) -> np.ndarray:
    """Map [low, high] to [0, 1], then apply gamma (above 1 darkens: more change)."""
    out = np.clip((m - low) / max(high - low, 1e-6), 0.0, 1.0)
    return out**gamma if gamma != 1.0 else out


def quantise(m: np.ndarray, levels_count: int) -> np.ndarray:
    """Round to `levels_count` evenly spaced grey levels (0 and 1 included)."""
    if levels_count < 2:
        raise ValueError("quantise needs at least 2 levels")
    steps = levels_count - 1
    return np.rint(m * steps) / steps


@dataclass(frozen=True)
class MapOps:
    """Map adjustments, applied in the order a painter would: invert, levels, grow,
    feather, quantise. The defaults change nothing."""

    invert: bool = False
    low: float = 0.0
    high: float = 1.0
    gamma: float = 1.0
    grow: int = 0
    feather: float = 0.0
    quantise: int = 0

    def validate(self) -> list[str]:
        """Problems with these settings, each naming its flag."""
        problems = []
        if not (0.0 <= self.low < self.high <= 1.0):
            problems.append("--levels: need 0 <= low < high <= 1, e.g. --levels 0.1,0.9")
        if not self.gamma > 0:
            problems.append("--gamma: must be above 0 (1 leaves the map as it is)")
        if self.feather < 0:
            problems.append("--feather: must be 0 or more pixels")
        if self.quantise == 1 or self.quantise < 0:
            problems.append("--quantise: give 2 or more levels, or 0 for none")
        return problems

    def apply(self, m: np.ndarray) -> np.ndarray:
        out = 1.0 - m if self.invert else m
        if (self.low, self.high, self.gamma) != (0.0, 1.0, 1.0):
            out = levels(out, self.low, self.high, self.gamma)
        out = feather(grow(out, self.grow), self.feather)
        if self.quantise:
            out = quantise(out, self.quantise)
        return np.clip(out, 0.0, 1.0).astype(np.float32)


def to_latent(m: np.ndarray, height: int, width: int) -> torch.Tensor:
    """Area-average a pixel map onto the latent grid (no aliasing of thin features)."""
    t = torch.from_numpy(np.ascontiguousarray(m, dtype=np.float32))[None, None]
    return F.interpolate(t, size=(height, width), mode="area")[0, 0]
