"""The region an edit works on, and the size it is sampled at.

Only pixels whose map is below 1 can change, so the model only needs to see their
bounding box plus some context. That box is grown to the shape of the nearest of a few
working sizes (SDXL's training buckets, at the model's own pixel count), never
stretched, and pasted back at the canvas's own size. Shapes therefore repeat: the model
sees the sizes it was trained at, and a compiled model compiles for a few shapes only.
"""

import itertools
import math
from dataclasses import dataclass

import numpy as np

Box = tuple[int, int, int, int]  # x0, y0, x1, y1 (exclusive)
ALIGN = 64  # pixels: latents divisible by 8, as every SD UNet's down-sampling needs


def bounding_box(mask: np.ndarray) -> Box | None:
    """The smallest box holding every True pixel, or None when there is none."""
    rows = np.flatnonzero(mask.any(axis=1))
    cols = np.flatnonzero(mask.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def with_margin(box: Box, margin: int, width: int, height: int) -> Box:
    """`box` grown by `margin` pixels on every side, clipped to the canvas."""
    x0, y0, x1, y1 = box
    return (
        max(0, x0 - margin),
        max(0, y0 - margin),
        min(width, x1 + margin),
        min(height, y1 + margin),
    )


def with_context(box: Box, context: float, width: int, height: int) -> Box:
    """Grow `box` on every side by `context` times its longer side (at least 32 px):
    the model needs surroundings to blend an edit in."""
    margin = max(32, math.ceil(context * max(box[2] - box[0], box[3] - box[1])))
    return with_margin(box, margin, width, height)


# SDXL's training buckets, (width, height) at 1024 x 1024 pixels; their transposes too.
BUCKETS = ((1024, 1024), (1152, 896), (1216, 832), (1344, 768), (1536, 640))


def buckets(native: int) -> list[tuple[int, int]]:
    """The working sizes of a model trained at native x native pixels: the buckets'
    shapes at its pixel count, sides in multiples of ALIGN."""
    scale = native / 1024
    sizes = {
        (max(ALIGN, round(w * scale / ALIGN) * ALIGN), max(ALIGN, round(h * scale / ALIGN) * ALIGN))
        for w, h in BUCKETS
    }
    return sorted(sizes | {(h, w) for w, h in sizes})


@dataclass(frozen=True)
class Window:
    """What the model sees: `box` of the canvas and, where the canvas is too small for
    the bucket's shape, `pad` pixels beyond its edges (left, top, right, bottom), the
    whole sampled at `size`."""

    box: Box
    pad: tuple[int, int, int, int]
    size: tuple[int, int]

    def cut(self, array: np.ndarray, fill: float | None = None) -> np.ndarray:
        """The window of an H x W (x C) canvas array; the pad repeats the edge pixels
        (`fill` None: the picture goes on) or takes `fill` (a map's white, an
        exemplar's transparency)."""
        x0, y0, x1, y1 = self.box
        part = array[y0:y1, x0:x1]
        left, top, right, bottom = self.pad
        if not any(self.pad):
            return part
        widths = ((top, bottom), (left, right)) + ((0, 0),) * (array.ndim - 2)
        if fill is None:
            return np.pad(part, widths, mode="edge")
        return np.pad(part, widths, mode="constant", constant_values=fill)

    def uncut(self, array: np.ndarray) -> np.ndarray:
        """The box's part of an array of the padded window's size."""
        x0, y0, x1, y1 = self.box
        left, top, _, _ = self.pad
        return array[top : top + y1 - y0, left : left + x1 - x0]

    @property
    def padded(self) -> tuple[int, int]:
        """(width, height) of the window with its pad, in canvas pixels."""
        x0, y0, x1, y1 = self.box
        left, top, right, bottom = self.pad
        return x1 - x0 + left + right, y1 - y0 + top + bottom


def window(box: Box, width: int, height: int, native: int) -> Window:
    """The bucket whose shape is nearest the box's, and the box grown on its short side
    to that shape: centred, moved to stay on the canvas, padded where it cannot."""
    bw, bh = box[2] - box[0], box[3] - box[1]
    size = min(buckets(native), key=lambda s: abs(math.log(s[0] / s[1]) - math.log(bw / bh)))
    aspect = size[0] / size[1]
    gw, gh = max(bw, round(bh * aspect)), max(bh, round(bw / aspect))
    x0, x1, left, right = grow(box[0], box[2], gw, width)
    y0, y1, top, bottom = grow(box[1], box[3], gh, height)
    return Window((x0, y0, x1, y1), (left, top, right, bottom), size)


def padded_pixels(width: int, height: int, native: int) -> int:
    """The most canvas pixels a window on a width x height canvas spans, pad included
    (cutting it and pasting back cost memory per pixel at the canvas's resolution). A box
    of aspect r grown to its bucket's aspect a spans max(r/a, a/r) times its own area:
    within the buckets' range at most the square root of the widest ratio between
    neighbours; past it, for a box as long as the canvas and thinner than any bucket,
    its length squared over the most extreme aspect. Each side's rounding adds a pixel."""
    aspects = sorted(w / h for w, h in buckets(native))
    gap = math.sqrt(max((b / a for a, b in itertools.pairwise(aspects)), default=1.0))
    thin = max(width * width / aspects[-1], height * height * aspects[0])
    return math.ceil(max(width * height * gap, thin)) + width + height + 1


def grow(start: int, end: int, length: int, limit: int) -> tuple[int, int, int, int]:
    """[start, end) grown to `length` around its centre and moved into [0, limit); when
    the canvas is shorter than `length`, all of it, padded evenly on both sides:
    (start, end, pad before, pad after)."""
    if length >= limit:
        before = (length - limit) // 2
        return 0, limit, before, length - limit - before
    extra = length - (end - start)
    start = min(max(start - extra // 2, 0), limit - length)
    return start, start + length, 0, 0
