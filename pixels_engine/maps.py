"""Edit maps: white keeps the source, black takes the exemplar, grey is released late.

Maps are float arrays in [0, 1] on the source canvas. The tools here are the ones a
painter expects (grow/shrink, feather, levels, invert, quantise), plus the automatic
map from an exemplar's alpha. numpy and scipy only: `pixels map` runs without torch.
"""

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from pixels_contract import schema

from . import region

TOLERANCE = schema.MAP_TOLERANCE


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


EXACT_RADIUS = 8  # grow over a true disk up to this radius, over an octagon beyond


def disk(radius: int) -> np.ndarray:
    y, x = np.ogrid[-radius : radius + 1, -radius : radius + 1]
    return x * x + y * y <= radius * radius


def grow(m: np.ndarray, pixels: int) -> np.ndarray:
    """Grow the edited (dark) area by `pixels`; a negative value shrinks it.

    A grey erosion (or dilation) over a disk of that radius. A disk costs its area per
    pixel, so past EXACT_RADIUS it is a regular octagon of the same inradius (within
    8 % of the disk's area): the sum of four lines (across, down and the two
    diagonals), which takes four one-dimensional min (or max) filters whose cost does
    not grow with the radius.
    """
    if pixels == 0:
        return m
    radius, lower = abs(pixels), pixels > 0
    if radius <= EXACT_RADIUS:
        op = ndimage.grey_erosion if lower else ndimage.grey_dilation
        return op(m, footprint=disk(radius), mode="nearest")
    diagonal = round(radius * (1 - math.sqrt(0.5)))  # half-length of each diagonal line
    straight = radius - 2 * diagonal  # half-length of the across and down lines
    out = m
    for axis in (0, 1):
        out = line_filter(out, straight, axis, lower)
    for anti in (False, True):
        out = diagonal_filter(out, diagonal, anti, lower)
    return out


def line_filter(m: np.ndarray, half: int, axis: int, lower: bool) -> np.ndarray:
    """The min (or max) over the 2 * half + 1 pixels centred on each, along an axis;
    pixels past the edge take no part."""
    if half == 0:
        return m
    op = ndimage.minimum_filter1d if lower else ndimage.maximum_filter1d
    return op(m, 2 * half + 1, axis=axis, mode="nearest")


def diagonal_filter(m: np.ndarray, half: int, anti: bool, lower: bool) -> np.ndarray:
    """line_filter along a diagonal. Each row gets `half` neutral pixels at its end and
    the rows are laid end to end: a step down the diagonal is then a fixed step through
    that line, so folding the line into rows of that step turns the diagonals into
    columns, filtered down the columns. The neutral pixels keep rows apart; the extra
    memory is `half` pixels per row of the array, laid out with its rows the longer
    side (a diagonal of the transpose is a diagonal)."""
    if half == 0:
        return m
    if anti:
        return diagonal_filter(m[:, ::-1], half, False, lower)[:, ::-1]
    if m.shape[0] > m.shape[1]:
        return diagonal_filter(m.T, half, False, lower).T
    height, width = m.shape
    neutral = np.inf if lower else -np.inf  # takes no part in a min (or a max)
    step = width + half + 1  # from (y, x) to (y + 1, x + 1) in the padded rows
    rows = -(-height * (width + half) // step)  # the line folded into rows of `step`
    line = np.full(rows * step, neutral, np.float32)
    line[: height * (width + half)].reshape(height, width + half)[:, :width] = m
    op = ndimage.minimum_filter1d if lower else ndimage.maximum_filter1d
    line = op(line.reshape(rows, step), 2 * half + 1, axis=0, mode="constant", cval=neutral)
    return line.reshape(-1)[: height * (width + half)].reshape(height, width + half)[:, :width]


def feather(m: np.ndarray, pixels: float) -> np.ndarray:
    """Soften edges with a near-Gaussian blur whose visible reach is about `pixels`:
    three box blurs, each of constant cost per pixel whatever the width."""
    if pixels <= 0:
        return m
    sigma = pixels / 3.0
    width = max(1, round(math.sqrt(4.0 * sigma * sigma + 1.0)))  # three boxes give sigma
    width += 1 - width % 2  # odd, so the blur stays centred
    out = m.astype(np.float32)
    for axis in (0, 1):
        for _ in range(3):
            out = ndimage.uniform_filter1d(out, width, axis=axis, mode="nearest")
    return out


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
    feather, quantise. The defaults change nothing; the bounds are the schema's."""

    invert: bool = False
    low: float = 0.0
    high: float = 1.0
    gamma: float = 1.0
    grow: int = 0
    feather: float = 0.0
    quantise: int = 0

    def apply(self, m: np.ndarray) -> np.ndarray:
        out = 1.0 - m if self.invert else m
        if (self.low, self.high, self.gamma) != (0.0, 1.0, 1.0):
            out = levels(out, self.low, self.high, self.gamma)
        out = feather(grow(out, self.grow), self.feather)
        if self.quantise:
            out = quantise(out, self.quantise)
        return np.clip(out, 0.0, 1.0).astype(np.float32)
