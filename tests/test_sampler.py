"""The invariants of ALGORITHM.md, checked step by step on each family's real model (the
tiny builds): SDXL's UNet on Euler, SD3's and FLUX's and Chroma's transformers on their
flow schedules, Kandinsky 3's UNet on DDPM."""

import math

import numpy as np
import pytest
import torch
from PIL import Image

from pixels_cli import samples
from pixels_engine import Editor, EditSettings
from pixels_engine import thresholds as grid
from pixels_engine.editor import edit_map
from pixels_engine.errors import PixelsError
from pixels_engine.resample import resize
from pixels_engine.sampler import sample
from pixels_engine.thresholds import CURVES, grey_levels, thresholds

N = 10
SIZE = 256
# Greys on the release grid (whole 16-bit levels), as the loop sees every map.
LEVELS = [k / grid.LEVELS for k in (0, 3277, 16384, 32768, 47841, 65470, 65535)]
FAMILIES = ["tiny", "tiny-sd3", "tiny-flux", "tiny-chroma", "tiny-kandinsky"]


def release_map(h: int, w: int, per_cell: int) -> torch.Tensor:
    """Vertical bands of the LEVELS, then random values, constant over each map cell
    (`per_cell` latents a side: a packed family holds a token whole), on the release
    grid (float64 values of whole levels, as the loop sees them)."""
    rng = np.random.default_rng(3)
    cells = rng.random((h // per_cell, w // per_cell)).astype(np.float32)
    band = cells.shape[1] // (2 * len(LEVELS))
    for k, level in enumerate(LEVELS):
        cells[:, k * band : (k + 1) * band] = level
    cells = grey_levels(cells) / grid.LEVELS
    return torch.from_numpy(cells.repeat(per_cell, 0).repeat(per_cell, 1))


@pytest.fixture(scope="module", params=FAMILIES)
def run(request, built_model):
    """One progressive loop of N steps with every step recorded."""
    model = built_model(request.param)
    family = model.family
    with torch.no_grad():
        source = family.encode(resize(samples.room(SIZE)[..., :3], (SIZE, SIZE)))
    generator = torch.Generator().manual_seed(0)
    noise = torch.randn(source.shape, generator=generator).to(model.device, model.dtype)
    other = torch.randn(source.shape, generator=generator).to(model.device, model.dtype)
    schedule = family.schedule(N, 1.0, (SIZE, SIZE))
    release = release_map(*source.shape[-2:], family.cell // family.factor).to(model.device)
    start = torch.where(
        release == 0,
        family.noised(source, other, schedule.levels[0]),
        family.noised(source, noise, schedule.levels[0]),
    )
    text = Editor(model).text("", "", False)
    steps = []
    with torch.no_grad():
        sample(
            step=family.stepper(text, schedule, (SIZE, SIZE), EditSettings(guidance=1.0, seed=0)),
            noised=family.noised,
            schedule=schedule,
            source=source,
            source_noise=noise,
            start=start,
            release=torch.from_numpy(grey_levels(release.cpu().numpy())).to(model.device),
            thresholds=grid.threshold_levels("linear", N),
            preview=lambda d: np.zeros((1, 1, 3), np.uint8),
            on_step=steps.append,
        )
    return dict(
        family=family,
        source=source,
        noise=noise,
        start=start,
        release=release,
        steps=steps,
        schedule=schedule,
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


def test_held_cells_get_the_source_noised_to_this_steps_own_level(run):
    """Re-injection uses each step's own level (ALGORITHM.md pitfall 1), the family's
    forward process and one fixed draw."""
    family, schedule = run["family"], run["schedule"]
    for i, step in enumerate(run["steps"]):
        expected = family.noised(run["source"], run["noise"], schedule.levels[i])
        held = step.held.expand_as(expected)
        assert torch.allclose(step.model_input[held], expected[held], atol=0, rtol=1e-6)
        assert step.sigma == pytest.approx(float(schedule.levels[i]))
    levels = [float(level) for level in schedule.levels]
    assert len(set(levels)) == N and levels in (sorted(levels), sorted(levels, reverse=True))


def test_the_levels_are_the_schedulers_own(run):
    """Read from the scheduler for each step, never recomputed (pitfalls 1 and 2)."""
    schedule = run["schedule"]
    scheduler = schedule.scheduler
    if hasattr(scheduler, "sigmas"):  # Euler and flow matching: sigma_i
        index = [scheduler.index_for_timestep(t) for t in schedule.timesteps]
        expected = [float(scheduler.sigmas[k]) for k in index]
    else:  # DDPM: alpha-bar at each step's timestep
        expected = [float(scheduler.alphas_cumprod[int(t)]) for t in schedule.timesteps]
    assert [float(level) for level in schedule.levels] == pytest.approx(expected)


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


@pytest.mark.parametrize("curve", list(CURVES))
def test_every_curve_releases_a_cell_once_and_for_good(run, curve):
    """Whatever the curve, a cell is held for a first run of steps, then free."""
    values = thresholds(curve, N)
    for level in LEVELS:
        held = [level > values[i] for i in range(N)]
        assert held == sorted(held, reverse=True)


def test_strength_runs_that_share_of_the_schedule_and_rejects_zero_steps(run):
    """As the family's own image-to-image pipeline counts: int(n x s) for the UNet
    pipelines (none may run), n - int(n - n x s) for the flow ones."""
    family = run["family"]
    flow = type(family).__module__.split(".")[-1] in ("sd3", "flux", "chroma")
    assert family.schedule(30, 1.0, (SIZE, SIZE)).steps == 30
    assert family.schedule(30, 0.6, (SIZE, SIZE)).steps == 18
    assert family.schedule(28, 0.6, (SIZE, SIZE)).steps == (17 if flow else 16)
    if flow:  # any strength runs at least its last step
        assert family.schedule(3, 0.0001, (SIZE, SIZE)).steps == 1
        return
    with pytest.raises(PixelsError, match="runs no step") as none:
        family.schedule(3, 0.0001, (SIZE, SIZE))
    assert none.value.field == "strength"


@pytest.mark.parametrize("name", FAMILIES)
def test_an_edit_calls_the_model_as_often_as_the_familys_own_img2img(name, built_model):
    """No extra model call: PIXELS runs the steps the pipeline runs, one call each (a
    batch of two with guidance, or two calls for Chroma's true guidance)."""
    model = built_model(name)
    denoiser = getattr(model.pipe, "unet", None) or model.pipe.transformer
    calls = []
    hook = denoiser.register_forward_hook(lambda *_: calls.append(1))
    source, exemplars = samples.scene(SIZE)
    settings = EditSettings(steps=12, strength=0.55, guidance=4.0, seed=1, context=2.0)
    try:
        result = Editor(model).edit(source, exemplars, settings)
        ours = len(calls)
        calls.clear()
        image = Image.fromarray((source[..., :3] * 255).astype(np.uint8))
        size = result.working_size
        extra = {} if name == "tiny-kandinsky" else {"height": size[1], "width": size[0]}
        model.pipe(
            prompt="",
            image=image.resize(size),
            strength=0.55,
            num_inference_steps=12,
            guidance_scale=4.0,
            generator=torch.Generator().manual_seed(1),
            output_type="np",
            **extra,
        )
    finally:
        hook.remove()
    assert ours == len(calls) and ours >= result.steps_run


@pytest.mark.parametrize("name", FAMILIES)
def test_white_pixels_come_back_bit_identical_and_the_seed_repeats(name, built_model):
    model = built_model(name)
    source, exemplars = samples.scene(SIZE)
    settings = EditSettings(steps=6, strength=0.5, seed=7)
    first = Editor(model).edit(source, exemplars, settings)
    again = Editor(model).edit(source, exemplars, settings)
    assert np.array_equal(first.image, again.image)
    white = edit_map(source, exemplars, settings) >= 1.0
    assert white.sum() > 1000 and np.array_equal(first.image[white], source[white])
    assert not np.array_equal(first.image[~white], source[~white])


def test_guidance_rescale_changes_only_the_edit_and_only_sd_takes_it(built_model):
    """The contract's guidance_rescale reaches SD's guided step (diffusers' rescale of
    the guided noise); white pixels stay the source's; a flow family refuses it."""
    model = built_model("tiny")
    source, exemplars = samples.scene(SIZE)
    plain = EditSettings(steps=6, strength=0.5, guidance=7.0, seed=5)
    rescaled = EditSettings(steps=6, strength=0.5, guidance=7.0, seed=5, guidance_rescale=0.7)
    first = Editor(model).edit(source, exemplars, plain)
    second = Editor(model).edit(source, exemplars, rescaled)
    white = edit_map(source, exemplars, plain) >= 1.0
    assert np.array_equal(first.image[white], second.image[white])
    assert not np.array_equal(first.image[~white], second.image[~white])
    with pytest.raises(PixelsError, match="takes none") as refused:
        rescaled.validate("flux-dev")
    assert refused.value.field == "guidance_rescale"
