"""Threshold curves: when each grey level of an edit map is released to the model.

A latent cell with map value m is re-injected with the noised source at step i of n
while ``m > threshold(i, n)``; it is free from the first step whose threshold reaches m.
Every curve starts at 0 (so m == 0 is free from the first step) and stays below 1
(so m == 1 is held to the end).

The comparison is made on whole numbers, so that it is exact at the boundary: a map's
value is a level of the 16-bit grey grid (LEVELS; every 8-bit grey g is the level
257 g), and a threshold is the highest level it does not release. Compared as floats, an
area average lifts a uniform 0.2 to 0.20000048 and holds it one step past
``ceil(0.2 x n)``; whole levels cannot drift, and the polynomial curves' levels are
computed in integers, so a grey exactly on a threshold (0.2 at step 2 of 10) is
released there on every family.
"""

import math

import numpy as np

LEVELS = 65535  # the release grid: white is LEVELS, black 0

TIE = 1e-9  # in levels: float64 error on a log ratio times LEVELS is about 1e-11

POWERS = {"linear": 1, "quadratic": 2, "cubic": 3}  # the curves (i / n) ** p
CURVES = {
    **{name: (lambda x, n, p=p: x**p) for name, p in POWERS.items()},
    "log": lambda x, n: np.log1p(x * n) / math.log1p(n),
    "sigmoid": lambda x, n: 1.0 / (1.0 + np.exp(-(6.0 * x - 3.0))),
}


def thresholds(curve: str, n: int) -> np.ndarray:
    """The n thresholds of `curve` for the steps i = 0..n-1 that are actually run."""
    if curve not in CURVES:
        raise ValueError(f"unknown threshold curve {curve!r}; choose one of {', '.join(CURVES)}")
    x = np.arange(n, dtype=np.float64) / n
    return np.asarray(CURVES[curve](x, n), dtype=np.float64)


def threshold_levels(curve: str, n: int) -> np.ndarray:
    """The n thresholds as whole levels: a cell at level k is held at step i while
    ``k > levels[i]``, that is while k / LEVELS is above the threshold. The polynomial
    curves are computed in integers. The log curve meets a level exactly at some steps
    (ln 2 / ln 8 is 1/3, the 8-bit grey 85), so a float within TIE of a level is that
    level; no other value of log or sigmoid comes that close to one."""
    if curve in POWERS:
        p = POWERS[curve]
        return np.array([i**p * LEVELS // n**p for i in range(n)], dtype=np.int64)
    scaled = thresholds(curve, n) * LEVELS
    nearest = np.rint(scaled)
    return np.where(np.abs(scaled - nearest) < TIE, nearest, np.floor(scaled)).astype(np.int64)


def grey_levels(m: np.ndarray) -> np.ndarray:
    """A map in [0, 1] as whole levels of the release grid (int32): the nearest level,
    which is the map's own 8- or 16-bit grey whatever float error its reduction made."""
    return np.rint(np.clip(m, 0.0, 1.0) * LEVELS).astype(np.int32)
