"""Whole edits on the tiny model: placement, maps, region, paste-back, seeds, cancel."""

import numpy as np
import pytest
import torch

from pixels_cli import samples
from pixels_engine import Cancelled, EditSettings, Exemplar, PixelsError, region
from pixels_engine.editor import resolve_maps, surgery
from pixels_engine.resample import resize

FAST = EditSettings(steps=10, strength=0.5, seed=11)


def square(size, x0, y0, x1, y1, rgb):
    layer = np.zeros((size, size, 4), np.float32)
    layer[y0:y1, x0:x1] = [*rgb, 1.0]
    return layer


def test_kept_pixels_are_bit_identical_and_alpha_is_preserved(editor):
    source, exemplars = samples.scene(256)
    source[..., 3] = np.linspace(0.2, 1.0, 256, dtype=np.float32)[None, :]
    result = editor.edit(source, exemplars, FAST)
    combined = np.minimum.reduce(resolve_maps(exemplars, None, FAST))
    kept = combined == 1.0
    assert kept.any() and (~kept).any()
    assert np.array_equal(result.image[kept], source[kept])
    assert np.array_equal(result.image[..., 3], source[..., 3])
    changed = (result.image[..., :3] != source[..., :3]).any(-1)
    assert changed[combined == 0].mean() > 0.9


def test_edit_leaves_its_inputs_untouched(editor):
    source, exemplars = samples.scene(128)
    copies = [source.copy()] + [e.image.copy() for e in exemplars]
    editor.edit(source, exemplars, FAST)
    for before, after in zip(copies, [source] + [e.image for e in exemplars], strict=True):
        assert np.array_equal(before, after)


def test_later_exemplar_wins_where_both_claim_and_absent_ones_claim_nothing():
    size = 64
    source = np.zeros((size, size, 4), np.float32)
    source[..., 3] = 1
    red = square(size, 0, 0, 40, 40, (1, 0, 0))
    blue = square(size, 24, 24, 64, 64, (0, 0, 1))
    black = np.zeros((size, size), np.float32)
    grey_blue = np.full((size, size), 0.5, np.float32)
    win = whole(size)
    base = source[..., :3]
    composite, claims = surgery(base, [Exemplar(red), Exemplar(blue)], [black, black], win, 8)
    assert claims[1, 1] == 1 and claims[4, 4] == 2 and claims[7, 7] == 2
    assert claims[7, 0] == 0  # neither exemplar is there
    assert np.allclose(composite[30, 30], [0, 0, 1])
    # a later exemplar that does not claim (grey map) cannot cover an earlier claim
    composite, claims = surgery(base, [Exemplar(red), Exemplar(blue)], [black, grey_blue], win, 8)
    assert claims[4, 4] == 1 and np.allclose(composite[30, 30], [1, 0, 0])


def whole(size: int) -> region.Window:
    """The window of a whole size x size canvas sampled at its own size."""
    return region.Window((0, 0, size, size), (0, 0, 0, 0), (size, size))


def test_soft_exemplars_stack_as_ordinary_over_compositing():
    """Alpha 0.4 composites as 0.4 of the exemplar, once; a later layer goes over."""
    size = 64
    source = np.zeros((size, size, 3), np.float32)
    red = square(size, 0, 0, 64, 64, (1, 0, 0))
    red[..., 3] *= 0.4
    blue = square(size, 0, 0, 32, 64, (0, 0, 1))
    blue[..., 3] *= 0.5
    white = np.ones((size, size), np.float32)
    composite, _ = surgery(source, [Exemplar(red), Exemplar(blue)], [white, white], whole(size), 8)
    np.testing.assert_allclose(composite[48, 48], [0.4, 0, 0], atol=1e-5)
    np.testing.assert_allclose(composite[10, 10], [0.2, 0, 0.5], atol=1e-5)


def test_near_black_map_values_still_claim_the_exemplar():
    size = 64
    source = np.zeros((size, size, 4), np.float32)
    source[..., 3] = 1
    lake = square(size, 0, 0, 32, 32, (0, 0, 1))
    jpeg_black = np.where(lake[..., 3] > 0, 1 / 255, 1.0).astype(np.float32)
    exact = np.where(lake[..., 3] > 0, 0.0, 1.0).astype(np.float32)
    settings = EditSettings()
    maps_jpeg = resolve_maps([Exemplar(lake, jpeg_black)], None, settings)
    maps_exact = resolve_maps([Exemplar(lake, exact)], None, settings)
    a = surgery(source[..., :3], [Exemplar(lake)], maps_jpeg, whole(size), 8)[1]
    b = surgery(source[..., :3], [Exemplar(lake)], maps_exact, whole(size), 8)[1]
    assert a.sum() == b.sum() == 16


def test_first_step_starts_from_the_surgical_latent(editor):
    source, exemplars = samples.scene(512)
    first = []
    result = editor.edit(
        source, exemplars, FAST, on_step=lambda s: first.append(s) if s.index == 0 else None
    )
    assert result.region == (0, 0, 512, 512) and result.working_size == (512, 512)
    edit_maps = resolve_maps(exemplars, None, FAST)
    composite, claims = surgery(source[..., :3], exemplars, edit_maps, whole(512), 8)
    assert (claims == 1).sum() > 100 and (claims == 2).sum() > 100
    with torch.no_grad():
        z_source = editor.model.family.encode(resize(source[..., :3], (512, 512)))
        z_exemplars = editor.encode_claims(composite, claims, z_source)
    generator = torch.Generator().manual_seed(FAST.seed)
    eps_source = torch.randn(z_source.shape, generator=generator)
    eps_exemplars = torch.randn(z_source.shape, generator=generator)
    device, dtype = editor.model.device, editor.model.dtype
    eps_source, eps_exemplars = eps_source.to(device, dtype), eps_exemplars.to(device, dtype)
    sigma = editor.model.family.schedule(10, 0.5, (512, 512)).levels[0]
    expected = torch.where(
        torch.from_numpy(claims > 0).to(device),
        z_exemplars + sigma * eps_exemplars,
        z_source + sigma * eps_source,
    )
    assert torch.allclose(first[0].model_input, expected, atol=1e-5)


def test_small_edit_on_a_large_canvas_works_on_its_region_at_native_size(editor):
    height, width = 768, 1024
    source = np.zeros((height, width, 4), np.float32)
    source[..., 0] = np.linspace(0, 1, width)[None, :]
    source[..., 3] = 1
    patch = np.zeros_like(source)
    patch[600:680, 800:900] = [0, 0.5, 1, 1]
    steps = []
    result = editor.edit(source, [Exemplar(patch)], FAST, on_step=steps.append)
    x0, y0, x1, y1 = result.region
    # the patch, its 32 px transition ramp, and context around both, inside the canvas
    assert 0 < x0 < 768 and 0 < y0 < 568 and 932 < x1 < width and 712 < y1 < height
    w, h = result.working_size
    assert abs(w * h / 512**2 - 1) < 0.15 and abs(w / h - (x1 - x0) / (y1 - y0)) < 0.15
    outside = np.ones((height, width), bool)
    outside[y0:y1, x0:x1] = False
    assert np.array_equal(result.image[outside], source[outside])
    assert (result.image[600:680, 800:900] != source[600:680, 800:900]).any()
    assert [s.index for s in steps] == list(range(5)) and steps[0].total == 5
    preview = steps[-1].preview()
    assert preview.dtype == np.uint8 and preview.shape == (h // 8, w // 8, 3)


def test_same_seed_same_edit_and_the_drawn_seed_is_reported(editor):
    source, exemplars = samples.scene(128)
    a = editor.edit(source, exemplars, FAST)
    b = editor.edit(source, exemplars, FAST)
    c = editor.edit(source, exemplars, EditSettings(steps=10, strength=0.5, seed=12))
    assert a.seed == 11 and np.array_equal(a.image, b.image)
    assert not np.array_equal(a.image, c.image)
    drawn = editor.edit(source, exemplars, EditSettings(steps=10, strength=0.5))
    again = editor.edit(source, exemplars, EditSettings(steps=10, strength=0.5, seed=drawn.seed))
    assert np.array_equal(drawn.image, again.image)


def test_cancel_stops_before_the_next_step(editor):
    source, exemplars = samples.scene(128)
    seen = []
    with pytest.raises(Cancelled):
        editor.edit(source, exemplars, FAST, on_step=seen.append, cancelled=lambda: len(seen) >= 2)
    assert len(seen) == 2


def test_chain_mode_applies_exemplars_one_after_another(editor):
    source, exemplars = samples.scene(128)
    totals = []
    chained = editor.edit(
        source,
        exemplars,
        EditSettings(steps=10, strength=0.5, seed=11, mode="chain"),
        on_step=lambda s: totals.append((s.index, s.total)),
    )
    single = editor.edit(source, exemplars, FAST)
    assert chained.steps_run == 2 * single.steps_run == 10
    assert totals == [(i, 10) for i in range(10)]
    assert not np.array_equal(chained.image, single.image)
    kept = np.minimum.reduce(resolve_maps(exemplars, None, FAST)) == 1
    assert np.array_equal(chained.image[kept], source[kept])


def test_no_exemplar_is_differential_diffusion_driven_by_the_map(editor):
    source = samples.room(128)
    grey = np.ones((128, 128), np.float32)
    grey[40:90, 40:90] = 0.3
    result = editor.edit(source, [], FAST, global_map=grey)
    changed = (result.image != source).any(-1)
    assert changed[40:90, 40:90].mean() > 0.9 and not changed[grey == 1].any()


def test_white_maps_change_nothing_and_cost_no_model_call(editor):
    source, exemplars = samples.scene(128)
    unmapped = [Exemplar(e.image) for e in exemplars]  # they take the global map
    white = np.ones((128, 128), np.float32)
    result = editor.edit(
        source, unmapped, FAST, global_map=white, on_step=lambda s: pytest.fail("the model ran")
    )
    assert result.region is None and np.array_equal(result.image, source)


def test_bad_inputs_are_named(editor):
    source, exemplars = samples.scene(128)
    with pytest.raises(PixelsError, match="exemplar 2 is 64x64 but the source is 128x128"):
        editor.edit(source, [exemplars[0], Exemplar(samples.rug(64))], FAST)
    with pytest.raises(PixelsError, match="nothing to edit"):
        editor.edit(source, [], FAST)
    with pytest.raises(PixelsError, match="above 0, at most 1, not 1.5") as bad:
        editor.edit(source, exemplars, EditSettings(strength=1.5, steps=0))
    assert bad.value.field == "strength" and "--" not in str(bad.value)
    with pytest.raises(PixelsError, match="runs no step") as none:
        editor.edit(source, exemplars, EditSettings(strength=0.1, steps=4))
    assert none.value.field == "strength"
