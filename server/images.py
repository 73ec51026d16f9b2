"""PNG frames in and out. Sizes are read from the header and checked before anything
is decompressed, so a small file that inflates to gigabytes is refused unread."""

import io

import numpy as np
from PIL import Image

from pixels_client import png
from pixels_client.protocol import INVALID_FIELD, TOO_LARGE
from pixels_engine.images import to_grey, to_rgba, to_uint8

from .errors import Refused


def header_size(data: bytes, role: str, max_pixels: int) -> tuple[int, int]:
    """(width, height) of a PNG frame, refused if it is not a PNG or too large."""
    try:
        width, height = png.size(bytes(data[:24]))
    except ValueError:
        message = f"{role}: not a PNG image. Send images as PNG bytes."
        raise Refused(INVALID_FIELD, message, role) from None
    if width < 1 or height < 1:
        raise Refused(INVALID_FIELD, f"{role}: a PNG of {width}x{height} pixels is empty.", role)
    if width * height > max_pixels:
        raise Refused(
            TOO_LARGE,
            f"{role}: {width}x{height} is over this server's limit of {max_pixels} pixels. "
            "Scale the canvas down, or start the server with a larger --max-pixels.",
            role,
        )
    return width, height


def decode(data: bytes, role: str, grey: bool) -> np.ndarray:
    """RGBA float32 (or a grey map) from PNG bytes whose header was checked."""
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        raise Refused(INVALID_FIELD, f"{role}: cannot decode the PNG ({e}).", role) from None
    return to_grey(image) if grey else to_rgba(image)


def encode(array: np.ndarray) -> bytes:
    """An 8-bit PNG of an RGBA float or RGB uint8 array, written the fast way (see
    pixels_client.png: several times faster than PIL's for a large canvas)."""
    pixels = array if array.dtype == np.uint8 else to_uint8(array)
    height, width, channels = pixels.shape
    colour = png.RGBA if channels == 4 else png.RGB
    return png.encode(width, height, np.ascontiguousarray(pixels).tobytes(), colour, 8)
