"""Geometry and pixel bytes for placing GIMP layers on the source layer's canvas.

The source layer defines the canvas: the edit's images all have its size, and anything
else (exemplar layers, masks, channels, the selection) is read through the rectangle of
that canvas in its own coordinates, transparent (or zero) where it does not reach.
No GIMP here, so the host Python tests it.
"""

import sys
from array import array
from dataclasses import dataclass

INVERT = bytes(range(255, -1, -1))  # per byte: 255 - b, which is also 65535 - v for u16


@dataclass(frozen=True)
class Box:
    """A rectangle in image coordinates: a layer's offsets and size."""

    x: int
    y: int
    width: int
    height: int


def local_rect(canvas: Box, item_x: int, item_y: int) -> tuple[int, int, int, int]:
    """The canvas as (x, y, width, height) in the coordinates of an item whose top-left
    corner is at (item_x, item_y) in the image: read there to land on the canvas."""
    return canvas.x - item_x, canvas.y - item_y, canvas.width, canvas.height


def changed_rect(region: list[int] | None, canvas: Box) -> tuple[int, int, int, int] | None:
    """The part of the canvas the server says may have changed, clipped to it, as
    (x, y, width, height) in canvas coordinates; None when nothing changed."""
    if region is None:
        return None
    x0, y0 = max(region[0], 0), max(region[1], 0)
    x1, y1 = min(region[2], canvas.width), min(region[3], canvas.height)
    if x1 <= x0 or y1 <= y0:
        return None
    return x0, y0, x1 - x0, y1 - y0


def changed_runs(new: bytes, old: bytes, width: int, rect: tuple[int, int, int, int]) -> list:
    """Runs (x, y, length) of the pixels inside `rect` where the RGBA images `new` and
    `old` (rows `width` pixels long) differ. Only these are written into the result, so
    every pixel the server kept is the source's own, at the image's full precision."""
    x0, y0, w, h = rect
    a, b = memoryview(new).cast("I"), memoryview(old).cast("I")
    runs = []
    for y in range(y0, y0 + h):
        row = y * width
        if new[(row + x0) * 4 : (row + x0 + w) * 4] == old[(row + x0) * 4 : (row + x0 + w) * 4]:
            continue
        start = None
        for x in range(x0, x0 + w):
            if a[row + x] != b[row + x]:
                if start is None:
                    start = x
            elif start is not None:
                runs.append((start, y, x - start))
                start = None
        if start is not None:
            runs.append((start, y, x0 + w - start))
    return runs


def big_endian_u16(native: bytes) -> bytes:
    """GEGL's u16 samples are in the machine's byte order; PNG wants big-endian."""
    if sys.byteorder == "big":
        return native
    samples = array("H", native)
    samples.byteswap()
    return samples.tobytes()


def edit_map(grey: bytes) -> bytes:
    """GIMP's convention (white = selected, mask shows the layer) to the protocol's
    (white keeps the source, black takes the exemplar): the same bytes, inverted."""
    return grey.translate(INVERT)


def split_source(selected: list[int], stack: list[int]) -> tuple[int, list[int]]:
    """(source, exemplars) from the ids of the selected layers: the one lowest in the
    layer stack (`stack`: every layer id, top to bottom) is the source."""
    if not selected:
        raise ValueError("select the layer to edit and its exemplar layers")
    ordered = sorted(selected, key=stack.index)
    return ordered[-1], ordered[:-1]
