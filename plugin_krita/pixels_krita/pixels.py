"""Pixel buffers between Krita and the server.

Krita's 8-bit RGBA layers hand out and take B, G, R, A bytes; the server speaks PNG in
R, G, B, A order. PNG decoding goes through Qt's C++ decoder: a pure-Python one would
take seconds on a large canvas.
"""

from pixels_client import png

from .qt import QtGui

INVERT = bytes(range(255, -1, -1))


def swap_red_blue(data: bytes) -> bytes:
    """BGRA <-> RGBA (the same swap both ways)."""
    out = bytearray(data)
    out[0::4], out[2::4] = data[2::4], data[0::4]
    return bytes(out)


def invert(grey: bytes) -> bytes:
    """255 - v for every byte: a Krita mask (opaque = the layer shows) to an edit map
    (black = take the exemplar)."""
    return grey.translate(INVERT)


def grey_over_white(bgra: bytes, width: int, height: int) -> bytes:
    """One byte per pixel: the layer's lightness, transparent parts counted as white
    (an edit map's 'keep the source')."""
    layer = QtGui.QImage(bgra, width, height, width * 4, QtGui.QImage.Format.Format_ARGB32)
    canvas = QtGui.QImage(width, height, QtGui.QImage.Format.Format_ARGB32)
    canvas.fill(QtGui.QColor(255, 255, 255))
    painter = QtGui.QPainter(canvas)
    painter.drawImage(0, 0, layer)
    painter.end()
    return image_bytes(canvas.convertToFormat(QtGui.QImage.Format.Format_Grayscale8), 1)


def decode_png(data: bytes) -> tuple[int, int, bytes]:
    """(width, height, RGBA bytes) of a PNG."""
    image = QtGui.QImage.fromData(data, "PNG")
    if image.isNull():
        raise ValueError("the server sent an image that is not a readable PNG")
    image = image.convertToFormat(QtGui.QImage.Format.Format_RGBA8888)
    return image.width(), image.height(), image_bytes(image, 4)


def image_bytes(image, channels: int) -> bytes:
    """The pixels of a QImage row by row, without the padding Qt may add to each row."""
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = image.constBits().asstring(stride * height)
    if stride == width * channels:
        return data
    row = width * channels
    return b"".join(data[y * stride : y * stride + row] for y in range(height))


def encode_rgba(width: int, height: int, rgba: bytes) -> bytes:
    return png.encode_rgba(width, height, rgba)


def encode_grey(width: int, height: int, grey: bytes) -> bytes:
    return png.encode_grey(width, height, grey)
