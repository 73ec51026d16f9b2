import tracemalloc

import numpy as np
import pytest

from pixels_engine import maps, resample


def test_alpha_map_is_black_inside_and_ramps_over_the_transition():
    alpha = np.zeros((64, 64), np.float32)
    alpha[:, :20] = 1.0
    m = maps.from_alpha(alpha, transition=10)
    assert np.all(m[:, :20] == 0)
    np.testing.assert_allclose(
        m[5, 20:31],
        np.arange(1, 12) / 10 * (np.arange(1, 12) <= 10) + (np.arange(1, 12) > 10),
        atol=1e-6,
    )
    assert np.all(m[:, 31:] == 1)


def test_alpha_map_without_transition_is_binary_and_empty_alpha_keeps_all():
    alpha = np.zeros((8, 8), np.float32)
    assert np.all(maps.from_alpha(alpha, 5) == 1)
    alpha[2:4, 2:4] = 0.7
    m = maps.from_alpha(alpha, 0)
    assert set(np.unique(m)) == {0.0, 1.0} and m[2, 2] == 0


def test_grow_spreads_the_dark_area_and_negative_shrinks_it():
    m = np.ones((21, 21), np.float32)
    m[10, 10] = 0
    grown = maps.grow(m, 3)
    assert (grown == 0).sum() == maps.disk(3).sum()
    assert np.array_equal(maps.grow(grown, -3), m)


@pytest.mark.parametrize("radius", [9, 40, 120])
def test_a_large_grow_is_a_near_circle_of_the_radius(radius):
    """Past EXACT_RADIUS an octagon of that inradius: within 8 % of the disk's area (and
    a pixel's rounding), reaching exactly `radius` across and down, and about as far on
    the diagonals; shrinking by as much gives the point back."""
    side = 2 * radius + 11
    m = np.ones((side, side), np.float32)
    m[side // 2, side // 2] = 0
    grown = maps.grow(m, radius)
    dark = np.argwhere(grown == 0) - side // 2
    assert abs(len(dark) / maps.disk(radius).sum() - 1) < 0.08 + 1 / radius
    assert np.abs(dark).max() == radius
    assert np.hypot(*dark.T).max() <= radius * 1.09 + 1
    assert np.array_equal(maps.grow(grown, -radius), m)


def test_grow_takes_the_darkest_grey_nearby_and_keeps_the_canvas_edge():
    m = np.full((30, 40), 0.8, np.float32)
    m[15, 20], m[0, 0] = 0.3, 0.1
    grown = maps.grow(m, 4)
    assert grown[15, 24] == pytest.approx(0.3) and grown[15, 25] == pytest.approx(0.8)
    assert grown[0, 4] == pytest.approx(0.1) and grown[29, 39] == pytest.approx(0.8)
    shrunk = maps.grow(grown, -4)
    assert shrunk[15, 20] == pytest.approx(0.3) and shrunk[15, 21] == pytest.approx(0.8)


@pytest.mark.parametrize("shape", [(1, 8192), (8192, 1), (3, 5000)])
def test_a_large_grow_of_a_thin_map_takes_memory_of_the_map_s_size(shape):
    """The diagonal lines cost `half` pixels per row of the map's longer side, not a
    height x (width + height) shear (a 1 x 24576 map took 2.4 GB): the same octagon,
    read through the transpose and an upright map alike."""
    m = np.ones(shape, np.float32)
    m.flat[m.size // 2] = 0.25
    tracemalloc.start()
    try:
        grown = maps.grow(m, 200)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 * m.nbytes + 2**20, peak
    assert np.array_equal(grown, maps.grow(m.T.copy(), 200).T)
    wide = np.ones((3 * shape[0], 3 * shape[1]), np.float32)
    wide[shape[0] : 2 * shape[0], shape[1] : 2 * shape[1]] = m
    # the same map in the middle of a larger one: only the edge differs (it takes no part)
    inside = maps.grow(wide, 200)[shape[0] : 2 * shape[0], shape[1] : 2 * shape[1]]
    assert np.all(grown >= inside) and grown.min() == inside.min() == np.float32(0.25)


def test_feather_softens_an_edge_symmetrically():
    m = np.zeros((1, 40), np.float32)
    m[:, 20:] = 1
    f = maps.feather(m, 9)
    assert 0.3 < f[0, 19] < 0.5 < f[0, 20] < 0.7
    assert f[0, 19] + f[0, 20] == pytest.approx(1.0)
    assert f[0, 10] < 0.01 and f[0, 29] > 0.99  # reach of about 9 px
    assert f[0, 0] == pytest.approx(0, abs=1e-6) and f[0, -1] == pytest.approx(1, abs=1e-6)


def test_levels_gamma_invert_quantise():
    ramp = np.linspace(0, 1, 11, dtype=np.float32)
    np.testing.assert_allclose(maps.levels(ramp, 0.2, 0.8)[[2, 5, 8]], [0, 0.5, 1], atol=1e-6)
    assert maps.levels(ramp, gamma=2.0)[5] == pytest.approx(0.25)
    ops = maps.MapOps(invert=True, quantise=3)
    np.testing.assert_allclose(ops.apply(ramp)[[0, 3, 5, 10]], [1, 0.5, 0.5, 0])


def test_snap_treats_jpeg_black_and_white_as_exact():
    m = np.array([0.0, 1 / 255, 3 / 255, 0.5, 252 / 255, 1.0], np.float32)
    np.testing.assert_array_equal(maps.snap(m), [0, 0, 0, 0.5, 1, 1])
    assert maps.snap(np.array([0.1], np.float32))[0] == pytest.approx(0.1)


def test_latent_reduction_averages_areas_instead_of_sampling_them():
    m = np.ones((64, 64), np.float32)
    m[:, 3] = 0  # a one-pixel line: sampling every 8th pixel would miss it entirely
    lat = resample.to_latent(m, 8, 8).numpy()
    np.testing.assert_allclose(lat[:, 0], 7 / 8)
    np.testing.assert_allclose(lat[:, 1:], 1)
