import numpy as np

from pixels_engine import region


def test_bounding_box_and_context():
    mask = np.zeros((100, 200), bool)
    mask[40:50, 150:170] = True
    box = region.bounding_box(mask)
    assert box == (150, 40, 170, 50)
    assert region.with_context(box, 0.25, 200, 100) == (118, 8, 200, 82)
    assert region.bounding_box(np.zeros((4, 4), bool)) is None


def test_working_size_keeps_aspect_and_native_pixel_count():
    w, h = region.working_size(2000, 1000, 1024)
    assert w % 64 == 0 and h % 64 == 0
    assert abs(w / h - 2) < 0.1
    assert abs(w * h / 1024**2 - 1) < 0.1
    assert region.working_size(10, 10, 512) == (512, 512)
