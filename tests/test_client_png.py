"""The stdlib PNG writer and reader against PIL."""

import io

import numpy as np
import pytest
from PIL import Image

from pixels_client import png


def test_rgba_written_by_us_reads_the_same_in_pil():
    rng = np.random.default_rng(0)
    pixels = rng.integers(0, 256, (5, 7, 4), dtype=np.uint8)
    data = png.encode_rgba(7, 5, pixels.tobytes())
    assert np.array_equal(np.asarray(Image.open(io.BytesIO(data))), pixels)
    assert png.size(data) == (7, 5)


def test_grey_maps_8_and_16_bit():
    grey = np.arange(12, dtype=np.uint8).reshape(3, 4) * 20
    assert np.array_equal(
        np.asarray(Image.open(io.BytesIO(png.encode_grey(4, 3, grey.tobytes())))), grey
    )
    deep = (np.arange(12).reshape(3, 4) * 5000).astype(">u2")  # PNG is big-endian
    image = Image.open(io.BytesIO(png.encode_grey(4, 3, deep.tobytes(), depth=16)))
    assert np.array_equal(np.asarray(image).astype(np.int64), deep.astype(np.int64))


@pytest.mark.parametrize("mode", ["RGBA", "RGB", "L", "LA"])
def test_reads_what_pil_writes_with_every_filter(mode):
    rng = np.random.default_rng(1)
    channels = len(mode)
    smooth = np.cumsum(rng.integers(0, 4, (40, 33, channels)), axis=1) % 256
    array = smooth.astype(np.uint8).squeeze()
    out = io.BytesIO()
    Image.fromarray(array, mode).save(out, format="PNG", optimize=True)  # adaptive filters
    width, height, rgba = png.decode(out.getvalue())
    expected = np.asarray(Image.fromarray(array, mode).convert("RGBA"))
    assert (width, height) == (33, 40)
    assert np.array_equal(np.frombuffer(rgba, np.uint8).reshape(40, 33, 4), expected)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match="needs 16 bytes"):
        png.encode_rgba(2, 2, b"\0" * 15)
    with pytest.raises(ValueError, match="not a PNG"):
        png.decode(b"GIF89a" + b"\0" * 30)
