"""The release rule at its boundary, on every family: a grey m of an 8- or 16-bit map is
held for exactly the steps whose threshold is below m, so on the linear curve it is
released after the first ceil(m x n) of n steps, also when m x n is a whole number (a
uniform 51 at 10 steps is held 2 steps, not 3). The held masks come from the real map
reduction and the real loop (`sample`) with a denoiser that leaves the latents as they
are: the mask of each step is all the rule needs, so no model is called."""

import mpmath
import numpy as np
import pytest
import torch
from PIL import Image

from pixels_engine import EditSettings, images
from pixels_engine.editor import release_levels, resolve_maps
from pixels_engine.sampler import sample
from pixels_engine.thresholds import CURVES, LEVELS, threshold_levels

FAMILIES = ["tiny", "tiny-sd3", "tiny-flux", "tiny-chroma", "tiny-kandinsky"]
MOST_STEPS = 50
mpmath.mp.dps = 60


def exact_threshold(curve: str, i: int, n: int) -> mpmath.mpf:
    """The curve's threshold for step i of n, in 60 digits."""
    x = mpmath.mpf(i) / n
    return {
        "linear": lambda: x,
        "quadratic": lambda: x**2,
        "cubic": lambda: x**3,
        "log": lambda: mpmath.log(1 + i) / mpmath.log(1 + n),
        "sigmoid": lambda: 1 / (1 + mpmath.exp(-(6 * x - 3))),
    }[curve]()


def highest_kept(curve: str, n: int, top: int) -> list[int]:
    """For each step, the highest whole grey g (of 0..top) with g / top at most the
    threshold: g is held exactly while it is above this. A threshold within 1e-40 of a
    grey is that grey (ln 2 / ln 8 is 1/3)."""
    out = []
    for i in range(n):
        scaled = exact_threshold(curve, i, n) * top
        nearest = mpmath.nint(scaled)
        out.append(
            int(nearest if abs(scaled - nearest) < mpmath.mpf(10) ** -40 else mpmath.floor(scaled))
        )
    return out


@pytest.mark.parametrize("curve", list(CURVES))
def test_threshold_levels_are_exact_for_every_16_bit_grey(curve):
    for n in range(1, MOST_STEPS + 1):
        assert threshold_levels(curve, n).tolist() == highest_kept(curve, n, LEVELS), n


def test_a_threshold_can_fall_exactly_on_a_grey():
    """The log curve meets the 8-bit grey 85 (1/3) at step 1 of 7: it is released there."""
    assert highest_kept("log", 7, 255)[1] == 85
    assert threshold_levels("log", 7)[1] == 85 * 257


def grey_map(values: np.ndarray, cell: int, bits: int) -> np.ndarray:
    """A map file's pixels as the engine reads them: each value a uniform cell."""
    pixels = values.repeat(cell, 0).repeat(cell, 1)
    return images.to_grey(Image.fromarray(pixels.astype(np.uint8 if bits == 8 else np.uint16)))


def held_steps(release: torch.Tensor, family, n: int, curve: str) -> torch.Tensor:
    """How many of the n steps the real loop holds each latent."""
    masks = []
    latent = torch.zeros((1, 1, *release.shape))

    def unchanged(latents, i):
        return latents, latents

    sample(
        step=unchanged,
        noised=lambda z, eps, level: z,
        schedule=family.schedule(n, 1.0, (release.shape[1] * 8, release.shape[0] * 8)),
        source=latent,
        source_noise=latent,
        start=latent,
        release=release,
        thresholds=threshold_levels(curve, n),
        preview=lambda d: None,
        on_step=lambda step: masks.append(step.held),
    )
    assert len(masks) == n
    return torch.stack(masks).sum(0)


@pytest.fixture(scope="module", params=FAMILIES)
def family(request, built_model):
    return built_model(request.param).family


def test_every_8_bit_grey_is_released_at_its_step_on_every_curve(family):
    greys = np.arange(256).reshape(16, 16)
    # Through the edit's own map handling: map tools (none), snapping, cell reduction.
    (m,) = resolve_maps([], grey_map(greys, family.cell, 8), EditSettings())
    claims = np.zeros((16, 16), np.int64)
    release = torch.from_numpy(release_levels(m, claims, family))
    per_cell = family.cell // family.factor
    assert release.shape == (16 * per_cell, 16 * per_cell)
    for curve in CURVES:
        for n in range(1, MOST_STEPS + 1):
            counts = held_steps(release, family, n, curve)[::per_cell, ::per_cell]
            kept = torch.tensor(highest_kept(curve, n, 255))
            # Snapping makes the greys within 0.02 of black or white black or white.
            g = torch.from_numpy(greys)
            g = torch.where(g <= 5, 0, torch.where(g >= 250, 255, g))
            expected = (g[..., None] > kept).sum(-1)
            assert torch.equal(counts, expected), (curve, n)
            if curve == "linear":  # the README's words: ceil(m x n) steps
                ceil = torch.from_numpy(-(-greys * n // 255))
                grey = (g > 0) & (g < 255)
                assert torch.equal(counts[grey], ceil[grey]), n


def test_every_16_bit_grey_reaches_the_loop_as_itself(family):
    """Cell reduction keeps each uniform 16-bit grey's own level exactly, so the exact
    threshold levels decide (snapping aside)."""
    values = np.arange(65536).reshape(256, 256)
    (m,) = resolve_maps([], grey_map(values, family.cell, 16), EditSettings())
    release = release_levels(m, np.zeros((256, 256), np.int64), family)
    per_cell = family.cell // family.factor
    levels = release[::per_cell, ::per_cell]
    inside = (values > 0.02 * LEVELS) & (values < 0.98 * LEVELS)
    assert np.array_equal(levels[inside], values[inside])
