import math

import numpy as np
import pytest

from pixels_engine.thresholds import CURVES, thresholds


@pytest.mark.parametrize("curve", list(CURVES))
def test_every_curve_rises_from_low_and_stays_below_one(curve):
    t = thresholds(curve, 20)
    assert len(t) == 20
    assert np.all(np.diff(t) > 0)
    assert t[0] < 0.05 and t[-1] < 1.0


def test_curves_match_the_paper_and_the_official_code():
    n = 10
    i = np.arange(n) / n
    np.testing.assert_allclose(thresholds("linear", n), i)
    np.testing.assert_allclose(thresholds("cubic", n), i**3)
    np.testing.assert_allclose(thresholds("quadratic", n), i**2)
    np.testing.assert_allclose(thresholds("log", n), np.log(1 + np.arange(n)) / math.log(1 + n))
    assert thresholds("sigmoid", n)[0] == pytest.approx(0.0474, abs=1e-4)


def test_cubic_holds_longer_and_log_releases_earlier_than_linear():
    lin, cub, log = (thresholds(c, 30) for c in ("linear", "cubic", "log"))
    assert np.all(cub[1:] < lin[1:]) and np.all(log[1:] > lin[1:])


def test_unknown_curve_is_named():
    with pytest.raises(ValueError, match="wavy"):
        thresholds("wavy", 5)
