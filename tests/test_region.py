import math

import numpy as np
import pytest

from pixels_engine import region


def test_bounding_box_and_context():
    mask = np.zeros((100, 200), bool)
    mask[40:50, 150:170] = True
    box = region.bounding_box(mask)
    assert box == (150, 40, 170, 50)
    assert region.with_context(box, 0.25, 200, 100) == (118, 8, 200, 82)
    assert region.bounding_box(np.zeros((4, 4), bool)) is None


SDXL_BUCKETS = [
    (640, 1536), (768, 1344), (832, 1216), (896, 1152), (1024, 1024),
    (1152, 896), (1216, 832), (1344, 768), (1536, 640),
]  # fmt: skip


def test_the_working_sizes_are_sdxls_buckets_at_each_models_pixel_count():
    assert region.buckets(1024) == SDXL_BUCKETS
    for native in (512, 768, 1024):
        for w, h in region.buckets(native):
            assert w % 64 == 0 and h % 64 == 0
            assert abs(w * h / native**2 - 1) < 0.12


@pytest.mark.parametrize(
    "box, canvas",
    [
        ((10, 10, 138, 146), (1000, 1000)),  # 128 x 136: the square bucket, not stretched
        ((100, 300, 1900, 700), (2000, 1000)),  # wide
        ((0, 0, 300, 100), (300, 100)),  # the canvas itself too wide for any bucket
        ((5, 0, 40, 600), (50, 600)),  # tall, at the edge
        ((150, 40, 170, 50), (200, 100)),
    ],
)
def test_a_window_holds_the_box_takes_the_nearest_shape_and_is_never_stretched(box, canvas):
    width, height = canvas
    win = region.window(box, width, height, 1024)
    bw, bh = box[2] - box[0], box[3] - box[1]
    nearest = min(SDXL_BUCKETS, key=lambda s: abs(math.log(s[0] / s[1]) - math.log(bw / bh)))
    assert win.size == nearest
    x0, y0, x1, y1 = win.box
    assert (
        0 <= x0 <= box[0] and 0 <= y0 <= box[1] and box[2] <= x1 <= width and box[3] <= y1 <= height
    )
    pw, ph = win.padded
    assert abs(pw / ph - nearest[0] / nearest[1]) <= 1 / min(pw, ph)  # a pixel's rounding
    left, top, right, bottom = win.pad
    assert abs(left - right) <= 1 and abs(top - bottom) <= 1  # padding only past the canvas
    assert (left + right > 0) == (x1 - x0 == width and pw > width)


def test_a_window_cuts_and_pads_arrays_and_gives_the_box_back():
    canvas = np.arange(300 * 100, dtype=np.float32).reshape(100, 300)
    win = region.window((0, 0, 300, 100), 300, 100, 512)
    cut = win.cut(canvas)
    assert cut.shape == (win.padded[1], win.padded[0])
    assert np.array_equal(cut[0], canvas[0]) and np.array_equal(cut[-1], canvas[-1])  # edge
    assert np.array_equal(win.uncut(cut), canvas)
    white = win.cut(canvas, fill=1.0)
    assert (white[0] == 1.0).all() and np.array_equal(win.uncut(white), canvas)
    rgba = np.zeros((100, 300, 4), np.float32)
    assert win.cut(rgba, fill=0.0).shape == (*cut.shape, 4)
