"""The invariants of ALGORITHM.md, checked on the real tiny SDXL UNet step by step."""

import math

import numpy as np
import pytest
import torch

from pixels_cli import samples
from pixels_engine.errors import PixelsError
from pixels_engine.resample import resize
from pixels_engine.sampler import sample
from pixels_engine.thresholds import thresholds

N = 10
LEVELS = [0.0, 0.05, 0.25, 0.5, 0.73, 0.999, 1.0]


def release_map(h, w):
    """Vertical bands of the LEVELS, then random values."""
    rng = np.random.default_rng(3)
    m = rng.random((h, w)).astype(np.float32)
    band = w // (2 * len(LEVELS))
    for k, level in enumerate(LEVELS):
        m[:, k * band : (k + 1) * band] = level
    return torch.from_numpy(m)


@pytest.fixture(scope="module")
def run(editor):
    """One progressive loop of N steps with every step recorded."""
    model, family = editor.model, editor.model.family
    with torch.no_grad():
        source = family.encode(resize(samples.room(512)[..., :3], (512, 512)))
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(source.shape, generator=generator).to(model.device, model.dtype)
    other = torch.randn(source.shape, generator=generator).to(model.device, model.dtype)
    schedule = family.schedule(N, 1.0, (512, 512))
    release = release_map(*source.shape[-2:]).to(model.device)
    start = torch.where(release == 0, source + schedule.levels[0] * other, source)
    text = editor.text("", "", 1.0)
    steps = []
    with torch.no_grad():
        sample(
            step=family.stepper(text, schedule, (512, 512), 1.0, 0),
            noised=family.noised,
            schedule=schedule,
            source=source,
            source_noise=noise,
            start=start,
            release=release,
            thresholds=thresholds("linear", N),
            preview=lambda d: np.zeros((1, 1, 3), np.uint8),
            on_step=steps.append,
        )
    return dict(
        source=source, noise=noise, start=start, release=release, steps=steps, schedule=schedule
    )


def test_cells_are_held_while_their_value_is_above_the_linear_threshold(run):
    release = run["release"]
    for i, step in enumerate(run["steps"]):
        assert torch.equal(step.held, release > i / N)


def test_each_cell_is_released_after_ceil_m_times_n_steps(run):
    held_steps = sum(step.held.int() for step in run["steps"])
    expected = torch.clamp(torch.ceil(run["release"].double() * N), max=N).int()
    assert torch.equal(held_steps, expected)
    for level in LEVELS:
        cells = run["release"] == level
        assert set(held_steps[cells].unique().tolist()) == {min(N, math.ceil(level * N))}


def test_held_cells_get_the_source_noised_to_this_steps_sigma(run):
    """Re-injection uses each step's own sigma (ALGORITHM.md pitfall 1) and one fixed draw."""
    scheduler = run["schedule"].scheduler
    sigmas = []
    for step in run["steps"]:
        expected = run["source"] + step.sigma * run["noise"]
        held = step.held.expand_as(expected)
        assert torch.allclose(step.model_input[held], expected[held], atol=0, rtol=1e-6)
        sigmas.append(step.sigma)
    assert sigmas == sorted(sigmas, reverse=True) and len(set(sigmas)) == N
    index = [scheduler.index_for_timestep(t) for t in run["schedule"].timesteps]
    assert sigmas == pytest.approx([float(scheduler.sigmas[k]) for k in index])


def test_black_cells_are_never_reinjected_and_white_cells_always_are(run):
    release, steps = run["release"], run["steps"]
    black, white = release == 0, release == 1
    assert torch.equal(steps[0].model_input[..., black], run["start"][..., black])
    for before, step in zip(steps, steps[1:], strict=False):
        assert torch.equal(step.model_input[..., black], before.latents[..., black])
        assert bool(step.held[white].all()) and not bool(step.held[black].any())


def test_the_model_changes_released_cells(run):
    last = run["steps"][-1]
    free = ~last.held
    assert not torch.allclose(last.latents[..., free], run["source"][..., free], atol=1e-2)


def test_strength_runs_that_share_of_the_schedule_and_rejects_zero_steps(tiny):
    family = tiny.family
    assert family.schedule(30, 0.6, (512, 512)).steps == 18
    assert family.schedule(30, 1.0, (512, 512)).steps == 30
    with pytest.raises(PixelsError, match="runs no step") as none:
        family.schedule(3, 0.2, (512, 512))
    assert none.value.field == "strength"
