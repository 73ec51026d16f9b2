"""Threshold curves: when each grey level of an edit map is released to the model.

A latent cell with map value m is re-injected with the noised source at step i of n
while ``m > threshold(i, n)``; it is free from the first step whose threshold reaches m.
Every curve starts at 0 (so m == 0 is free from the first step) and stays below 1
(so m == 1 is held to the end).
"""

import math

import numpy as np

CURVES = {
    "linear": lambda x, n: x,
    "cubic": lambda x, n: x**3,
    "quadratic": lambda x, n: x**2,
    "log": lambda x, n: np.log1p(x * n) / math.log1p(n),
    "sigmoid": lambda x, n: 1.0 / (1.0 + np.exp(-(6.0 * x - 3.0))),
}


def thresholds(curve: str, n: int) -> np.ndarray:
    """The n thresholds of `curve` for the steps i = 0..n-1 that are actually run."""
    if curve not in CURVES:
        raise ValueError(f"unknown threshold curve {curve!r}; choose one of {', '.join(CURVES)}")
    x = np.arange(n, dtype=np.float64) / n
    return np.asarray(CURVES[curve](x, n), dtype=np.float64)
