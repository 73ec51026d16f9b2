"""Pixel buffers between Krita, Qt and the server, with no loop over pixels in Python.

Krita's 8-bit RGBA layers hand out and take B, G, R, A bytes: Qt's Format_ARGB32 on the
little-endian machines Krita runs on, so layers go to and from QImage as they are. PNG
is read by Qt's decoder and written by the contract's unfiltered fast path. Whole-buffer
arithmetic runs in C: bytes.translate, slicing and Python's big integers.
"""

from pixels_contract import png

from .qt import Qt, QtGui

ARGB32 = QtGui.QImage.Format.Format_ARGB32
GREY8 = QtGui.QImage.Format.Format_Grayscale8
ALPHA8 = QtGui.QImage.Format.Format_Alpha8
INDEXED8 = QtGui.QImage.Format.Format_Indexed8
PREMULTIPLIED = QtGui.QImage.Format.Format_ARGB32_Premultiplied
OPAQUE_BLACK = 0xFF000000
INVERT = bytes(range(255, -1, -1))
NONZERO = bytes([0]) + bytes([255]) * 255


# --- images and PNG ---------------------------------------------------------------------


def image(data: bytes, width: int, height: int, fmt=ARGB32):
    """A QImage owning a copy of `data` (B, G, R, A, or one byte a pixel for GREY8/ALPHA8)."""
    channels = 4 if fmt == ARGB32 else 1
    return QtGui.QImage(data, width, height, width * channels, fmt).copy()


def image_bytes(image, channels: int = 4) -> bytes:
    """The pixels of a QImage row by row, without the padding Qt may add to each row."""
    width, height, stride = image.width(), image.height(), image.bytesPerLine()
    data = image.constBits().asstring(stride * height)
    if stride == width * channels:
        return data
    row = width * channels
    return b"".join(data[y * stride : y * stride + row] for y in range(height))


def decode_png(data: bytes):
    """A PNG as an ARGB32 QImage (its bytes are Krita's B, G, R, A)."""
    decoded = QtGui.QImage.fromData(data, "PNG")
    if decoded.isNull():
        raise ValueError("the server sent an image that is not a readable PNG")
    return decoded.convertToFormat(ARGB32)


def encode_png(bgra: bytes, width: int, height: int, level: int = 0) -> bytes:
    """An RGBA PNG, unfiltered: zlib `level` 0 (stored) for the server on this machine and
    for the history (the .kra deflates it when saved), 1 for a server elsewhere."""
    return png.encode_rgba(width, height, swap_red_blue(bgra), level=level)


def encode_grey(grey: bytes, width: int, height: int, level: int = 0) -> bytes:
    return png.encode_grey(width, height, grey, level=level)


def swap_red_blue(data: bytes) -> bytes:
    """BGRA <-> RGBA (the same swap both ways)."""
    out = bytearray(data)
    out[0::4], out[2::4] = data[2::4], data[0::4]
    return bytes(out)


# --- grey maps (one byte a pixel) ---------------------------------------------------------


def invert(grey: bytes) -> bytes:
    """255 - v: a Krita mask or selection (opaque: the exemplar goes in) as an edit map
    (black takes the exemplar)."""
    return grey.translate(INVERT)


def grey_over_white(bgra: bytes, width: int, height: int) -> bytes:
    """A layer as an edit map: its lightness over white, so transparent parts keep the
    source and soft alpha and greys stay grey."""
    canvas = QtGui.QImage(width, height, ARGB32)
    canvas.fill(QtGui.QColor(255, 255, 255))
    painter = QtGui.QPainter(canvas)
    painter.drawImage(0, 0, image(bgra, width, height))
    painter.end()
    return image_bytes(canvas.convertToFormat(GREY8), 1)


def lighten(grey: bytes, other: bytes, width: int, height: int) -> bytes:
    """The lighter of two maps at each pixel."""
    out = image(grey, width, height, GREY8)
    painter = QtGui.QPainter(out)
    painter.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_Lighten)
    painter.drawImage(0, 0, image(other, width, height, GREY8))
    painter.end()
    return image_bytes(out, 1)


def limit(grey: bytes, selection: bytes, width: int, height: int) -> bytes:
    """A map under a selection, the contract's way (schema.limit_map): 255 - (255 - m) x
    s / 255, so a soft selection softens the edit as much as it selects. Qt multiplies
    the map's darkness by the selection as alpha by alpha."""
    return invert(times(image(invert(grey), width, height, ALPHA8), selection, 1))


# --- alpha ------------------------------------------------------------------------------


def alpha(bgra: bytes) -> bytes:
    return bgra[3::4]


def scale_alpha(bgra: bytes, opacity: int) -> bytes:
    """Alpha times a layer's opacity (0 to 255)."""
    if opacity >= 255:
        return bgra
    table = bytes((a * opacity + 127) // 255 for a in range(256))
    out = bytearray(bgra)
    out[3::4] = bgra[3::4].translate(table)
    return bytes(out)


def times(target, grey: bytes, channels: int) -> bytes:
    """`target`'s alpha times a grey mask of its size, by Qt's DestinationIn."""
    painter = QtGui.QPainter(target)
    painter.setCompositionMode(QtGui.QPainter.CompositionMode.CompositionMode_DestinationIn)
    painter.drawImage(0, 0, image(grey, target.width(), target.height(), ALPHA8))
    painter.end()
    return image_bytes(target, channels)


def keep_where(bgra: bytes, mask: bytes) -> bytes:
    """Fully transparent wherever the 0/255 mask is 0; the exact pixels elsewhere."""
    out = bytearray(bgra)
    out[3::4] = both(bgra[3::4], mask)
    return bytes(out)


# --- 0/255 masks, one byte a pixel ----------------------------------------------------------


def nonzero(grey: bytes) -> bytes:
    return grey.translate(NONZERO)


def both(a: bytes, b: bytes) -> bytes:
    """Bitwise and of two buffers of one length."""
    return (int.from_bytes(a, "little") & int.from_bytes(b, "little")).to_bytes(len(a), "little")


def differs(a: bytes, b: bytes, width: int, height: int) -> bytes:
    """255 where the pixels of `a` and `b` (B, G, R, A) differ in any byte, else 0. Qt xors
    the colours (its raster operations take the raw bits of a premultiplied image and
    set alpha opaque) and marks the pixels that are not black after it; the alphas are
    xored as big integers."""
    xor = QtGui.QImage(a, width, height, width * 4, PREMULTIPLIED).copy()
    painter = QtGui.QPainter(xor)
    painter.setCompositionMode(QtGui.QPainter.CompositionMode.RasterOp_SourceXorDestination)
    painter.drawImage(0, 0, QtGui.QImage(b, width, height, width * 4, PREMULTIPLIED))
    painter.end()
    colours = xor.createMaskFromColor(OPAQUE_BLACK, Qt.MaskMode.MaskOutColor)  # 1: differs
    colours = image_bytes(colours.convertToFormat(INDEXED8), 1)
    either = int.from_bytes(a[3::4], "little") ^ int.from_bytes(b[3::4], "little")
    either |= int.from_bytes(colours, "little")
    return nonzero(either.to_bytes(len(colours), "little"))


def any_set(mask: bytes) -> bool:
    return mask.count(0) != len(mask)


def bounding_box(mask: bytes, width: int) -> tuple | None:
    """(x0, y0, x1, y1) around the mask's non-zero bytes, or None."""
    first = len(mask) - len(mask.lstrip(b"\0"))
    if first == len(mask):
        return None
    last = len(mask.rstrip(b"\0")) - 1
    y0, y1 = first // width, last // width + 1
    columns = 0
    for y in range(y0, y1):
        columns |= int.from_bytes(mask[y * width : (y + 1) * width], "little")
    row = columns.to_bytes(width, "little")
    x0 = len(row) - len(row.lstrip(b"\0"))
    return x0, y0, len(row.rstrip(b"\0")), y1


def crop(data: bytes, width: int, box: tuple, channels: int = 4) -> bytes:
    """The box (x0, y0, x1, y1) of a buffer `width` pixels wide."""
    x0, y0, x1, y1 = box
    if x0 == 0 and x1 == width:
        return data[y0 * width * channels : y1 * width * channels]
    return b"".join(
        data[(y * width + x0) * channels : (y * width + x1) * channels] for y in range(y0, y1)
    )
