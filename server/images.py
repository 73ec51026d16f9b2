"""PNG frames in and out of the engine's arrays. A frame's size was read from its header
at submit (pixels_contract.protocol), so nothing here inflates an image bigger than the
server allows."""

import io

import numpy as np
from PIL import Image

from pixels_contract import png
from pixels_contract.messages import INVALID_FIELD, Refusal
from pixels_engine.images import to_grey, to_rgba, to_uint8


def decode(data: bytes, role: str, path: str, grey: bool) -> np.ndarray:
    """RGBA float32 (or a grey map) from PNG bytes whose header was checked."""
    try:
        image = Image.open(io.BytesIO(data), formats=["PNG"])
        image.load()
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as e:
        text = f"{path}: cannot decode the {role} as a PNG ({e})."
        raise Refusal(INVALID_FIELD, text, path) from None
    return to_grey(image) if grey else to_rgba(image)


def encode(array: np.ndarray, level: int = 1) -> bytes:
    """An 8-bit PNG of an RGBA float or RGB uint8 array, written the fast way (see
    pixels_contract.png: several times faster than PIL's for a large canvas); `level` is
    zlib's, 0 to store."""
    pixels = array if array.dtype == np.uint8 else to_uint8(array)
    height, width, channels = pixels.shape
    colour = png.RGBA if channels == 4 else png.RGB
    return png.encode(width, height, np.ascontiguousarray(pixels).tobytes(), colour, 8, level)
