"""The region an edit works on, and the size it is sampled at.

Only pixels whose map is below 1 can change, so the model only needs to see their
bounding box plus some context. That box is sampled at the model's native pixel count
(SDXL was trained at about 1024 x 1024) and pasted back at the canvas's own size.
"""

import math

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


def working_size(width: int, height: int, native: int) -> tuple[int, int]:
    """(width, height) with about native*native pixels, the box's aspect ratio, and
    sides in multiples of ALIGN."""
    scale = native / math.sqrt(width * height)
    w = max(ALIGN, round(width * scale / ALIGN) * ALIGN)
    h = max(ALIGN, round(height * scale / ALIGN) * ALIGN)
    return w, h
