"""An edit from canvas to canvas: maps, region, encoding, sampling, paste-back.

`Editor` holds a loaded model and turns a source image, exemplar layers and edit maps
(all on the same canvas) into the edited canvas. Pixels whose map is white come back
bit-identical to the source, and the source's alpha is kept.
"""

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from pixels_contract.schema import SEED_MAX, SEED_MIN

from . import maps, region, resample
from .errors import PixelsError
from .families.base import guided
from .models import LoadedModel
from .sampler import Step, sample
from .settings import EditSettings
from .thresholds import grey_levels, threshold_levels

CLAIM_MARGIN = 32  # pixels of context around the claimed cells when encoding exemplars


@dataclass
class Exemplar:
    """An exemplar layer on the source canvas: RGBA (its alpha places it) and an
    optional edit map; without one the global map, else a map from its alpha, is used."""

    image: np.ndarray
    map: np.ndarray | None = None


@dataclass
class EditResult:
    image: np.ndarray  # RGBA float32 on the source canvas
    seed: int
    region: region.Box | None  # None when no pixel may change
    working_size: tuple[int, int] | None
    steps_run: int
    timings: dict[str, float]
    random_weights: bool


OnStep = Callable[[Step], None]


class Editor:
    """Runs PIXELS edits on one loaded model; keeps prompt encodings between edits."""

    def __init__(self, model: LoadedModel, cache_size: int = 16):
        self.model = model
        self._texts: dict[tuple, object] = {}  # the family's prompt encodings
        self._cache_size = cache_size

    def edit(
        self,
        source: np.ndarray,
        exemplars: list[Exemplar],
        settings: EditSettings,
        global_map: np.ndarray | None = None,
        on_step: OnStep | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> EditResult:
        settings.validate(self.model.family.schema_name)
        check_canvas(source, exemplars, global_map)
        if settings.seed is None:
            settings = replace(settings, seed=random.randint(SEED_MIN, SEED_MAX))
        edit_maps = resolve_maps(exemplars, global_map, settings)
        if settings.mode == "chain" and len(exemplars) > 1:
            return self.chain(source, exemplars, edit_maps, settings, on_step, cancelled)
        return self.single(source, exemplars, edit_maps, settings, on_step, cancelled)

    def chain(self, source, exemplars, edit_maps, settings, on_step, cancelled) -> EditResult:
        """Apply exemplars one at a time, each edit the source of the next."""
        image, timings, steps, box = source, {}, 0, None
        for k, (exemplar, m) in enumerate(zip(exemplars, edit_maps, strict=True)):
            stage = None if on_step is None else staged(on_step, k, len(exemplars))
            result = self.single(image, [exemplar], [m], settings, stage, cancelled)
            image, steps = result.image, steps + result.steps_run
            for name, seconds in result.timings.items():
                timings[name] = timings.get(name, 0.0) + seconds
            box = union(box, result.region)
        return replace(result, image=image, steps_run=steps, timings=timings, region=box)

    def single(self, source, exemplars, edit_maps, settings, on_step, cancelled) -> EditResult:
        """All exemplars in one pass of the progressive loop."""
        began = time.perf_counter()
        model, family = self.model, self.model.family
        combined = np.minimum.reduce(edit_maps)
        height, width = source.shape[:2]
        box = region.bounding_box(combined < 1.0)
        if box is None:  # every pixel is kept: nothing for the model to do
            return EditResult(source.copy(), settings.seed, None, None, 0, {}, model.random_weights)
        box = region.with_context(box, settings.context, width, height)
        win = region.window(box, width, height, model.native_size)
        work = win.size

        source_rgb = resample.resize(win.cut(source[..., :3]), work)
        window_map = resample.resize(win.cut(combined, fill=1.0), work)
        # With no exemplar, edit_maps holds the global map alone, which claims nothing.
        exemplar_maps = edit_maps[: len(exemplars)]
        composite, claims = surgery(source_rgb, exemplars, exemplar_maps, win, family.cell)
        release = release_levels(window_map, claims, family)
        claims = on_latents(claims, family)

        timings = {}
        t0 = time.perf_counter()
        with torch.no_grad():
            source_latent = family.encode(source_rgb)
            exemplar_latent = self.encode_claims(composite, claims, source_latent)
        timings["encode"] = time.perf_counter() - t0

        # Independent noise draws for the source and the exemplars, as in the paper.
        generator = torch.Generator("cpu").manual_seed(settings.seed)
        source_noise = self.randn(source_latent.shape, generator)
        exemplar_noise = self.randn(source_latent.shape, generator)
        schedule = family.schedule(settings.steps, settings.strength, work)
        level = schedule.levels[0]
        start = family.noised(source_latent, source_noise, level)
        if exemplar_latent is not None:  # the surgical latent: claimed cells from exemplars
            claimed = torch.from_numpy(claims > 0).to(model.device)
            start = torch.where(
                claimed, family.noised(exemplar_latent, exemplar_noise, level), start
            )

        text = self.text(settings.prompt, settings.negative_prompt, guided(settings.guidance))
        t0 = time.perf_counter()
        with torch.no_grad():
            final = sample(
                step=family.stepper(text, schedule, work, settings),
                noised=family.noised,
                schedule=schedule,
                source=source_latent,
                source_noise=source_noise,
                start=start,
                release=torch.from_numpy(release).to(model.device),
                thresholds=threshold_levels(settings.threshold, schedule.steps),
                preview=previewer(source_latent, source_rgb),
                on_step=on_step,
                cancelled=cancelled,
            )
        timings["sample"] = time.perf_counter() - t0

        t0 = time.perf_counter()
        with torch.no_grad():
            decoded = family.decode(final)
        timings["decode"] = time.perf_counter() - t0

        out = source.copy()
        edited = win.uncut(resample.resize(decoded, win.padded))
        x0, y0, x1, y1 = win.box
        change = combined[y0:y1, x0:x1] < 1.0
        out[y0:y1, x0:x1][change, :3] = edited[change]
        timings["total"] = time.perf_counter() - began
        return EditResult(
            out, settings.seed, win.box, work, schedule.steps, timings, model.random_weights
        )

    def text(self, prompt: str, negative_prompt: str, cfg: bool):
        """Encoded prompts, cached: a server sees the same prompt many times, at any
        guidance (only whether guidance is on changes the encoding)."""
        key = (prompt, negative_prompt, cfg)
        if key not in self._texts:
            if len(self._texts) >= self._cache_size:
                self._texts.pop(next(iter(self._texts)))
            with torch.no_grad():
                self._texts[key] = self.model.family.encode_text(prompt, negative_prompt, cfg)
        return self._texts[key]

    def encode_claims(self, composite, claims, source_latent) -> torch.Tensor | None:
        """The exemplars' latent: each exemplar's claimed cells encoded from the
        composite, with some context, and nothing else (elsewhere it is the source's
        and never used), so the extra VAE work is proportional to the exemplars'
        area. None when nothing is claimed."""
        family = self.model.family
        factor = family.factor
        height, width = claims.shape
        latent = None
        for k in np.unique(claims[claims > 0]):
            box = region.bounding_box(claims == k)
            x0, y0, x1, y1 = region.with_margin(box, CLAIM_MARGIN // factor, width, height)
            patch = composite[y0 * factor : y1 * factor, x0 * factor : x1 * factor]
            mine = torch.from_numpy(claims[y0:y1, x0:x1] == k).to(self.model.device)
            latent = source_latent.clone() if latent is None else latent
            window = latent[..., y0:y1, x0:x1]
            window.copy_(torch.where(mine, family.encode(patch), window))
        return latent

    def randn(self, shape, generator) -> torch.Tensor:
        """Noise drawn on the CPU, so a seed gives the same edit on every device."""
        return torch.randn(shape, generator=generator).to(self.model.device, self.model.dtype)


def check_canvas(source, exemplars, global_map) -> None:
    """Every layer must be on the source canvas: the edit is pixel-aligned."""
    height, width = source.shape[:2]
    layers = [("global map", global_map)]
    for k, e in enumerate(exemplars, start=1):
        layers += [(f"exemplar {k}", e.image), (f"map of exemplar {k}", e.map)]
    for name, array in layers:
        if array is not None and array.shape[:2] != (height, width):
            raise PixelsError(
                f"{name} is {array.shape[1]}x{array.shape[0]} but the source is "
                f"{width}x{height}. Place every exemplar and map on a canvas the size of "
                "the source (transparent where the exemplar is absent)."
            )
    if not exemplars and global_map is None:
        raise PixelsError(
            "nothing to edit: give at least one exemplar, or a global map that says where the "
            "prompt may change the picture."
        )


def edit_map(
    source: np.ndarray,
    exemplars: list[Exemplar],
    settings: EditSettings,
    global_map: np.ndarray | None = None,
) -> np.ndarray:
    """The map an edit of these layers will use, on the canvas: each exemplar's (given,
    global or made from its alpha) after the map tools, the darkest winning. No model:
    it is what a host shows before the edit runs."""
    settings.validate()
    check_canvas(source, exemplars, global_map)
    return np.minimum.reduce(resolve_maps(exemplars, global_map, settings))


def resolve_maps(exemplars, global_map, settings: EditSettings) -> list[np.ndarray]:
    """One snapped map per exemplar (or the global map alone when there is none)."""
    if not exemplars:
        raw = [global_map]
    else:
        raw = [
            e.map
            if e.map is not None
            else global_map
            if global_map is not None
            else maps.from_alpha(e.image[..., 3], settings.transition)
            for e in exemplars
        ]
    return [maps.snap(settings.map_ops.apply(m)) for m in raw]


def surgery(base, exemplars, edit_maps, win: region.Window, cell: int):
    """The exemplar picture at working size and the cells (of `cell` pixels) each
    exemplar claims; `base` is the source in the window, at working size.

    A cell is claimed by exemplar k (1-based) where k's map is black and k is present
    (alpha >= 0.5); where several claim a cell the later wins, as layers stack. The
    picture has every exemplar composited over the source in order, as ordinary "over"
    compositing (later over earlier, each by its alpha), then each one's claimed pixels
    painted again over the source, so a later exemplar that does not claim a pixel
    cannot cover an earlier one's claim there. Work is confined to each exemplar's own
    bounding box: exemplars are usually small parts of the canvas.
    """
    work = win.size
    composite = base.copy()
    lat_h, lat_w = work[1] // cell, work[0] // cell
    claims = np.zeros((lat_h, lat_w), dtype=np.int64)
    painted = []
    for k, (e, m) in enumerate(zip(exemplars, edit_maps, strict=True), start=1):
        layer = resample.resize(win.cut(e.image, fill=0.0), work)
        box = region.bounding_box(layer[..., 3] > 0)
        if box is None:
            continue
        area = (slice(box[1], box[3]), slice(box[0], box[2]))
        rgb, alpha = layer[area][..., :3], layer[area][..., 3:]
        composite[area] = rgb * alpha + composite[area] * (1.0 - alpha)
        over_source = rgb * alpha + base[area] * (1.0 - alpha)
        m_work = resample.resize(win.cut(m, fill=1.0), work)
        claimed = (m_work[area] <= maps.TOLERANCE) & (alpha[..., 0] >= 0.5)
        painted.append((area, claimed, over_source))
        m_cells = maps.snap(resample.to_latent(m_work, lat_h, lat_w).numpy())
        a_cells = resample.to_latent(layer[..., 3], lat_h, lat_w).numpy()
        claims[(m_cells == 0.0) & (a_cells >= 0.5)] = k
    for area, claimed, over_source in painted:
        composite[area][claimed] = over_source[claimed]
    return composite, claims


def release_levels(window_map: np.ndarray, claims: np.ndarray, family) -> np.ndarray:
    """The edit map on the family's latent grid as whole release levels (int32): area-
    averaged over each cell of `family.cell` pixels (thin strokes are not lost), snapped
    near black and white, black where an exemplar claims the cell, then rounded to the
    grey grid the thresholds are counted on, so a uniform 8- or 16-bit grey is released
    exactly at its step (thresholds.py)."""
    height, width = window_map.shape
    cells = resample.to_latent(window_map, height // family.cell, width // family.cell)
    release = maps.snap(cells.numpy())
    release[claims > 0] = 0.0
    return on_latents(grey_levels(release), family)


def on_latents(cells: np.ndarray, family) -> np.ndarray:
    """A per-cell array on the latents: a cell of a family that packs latent patches
    into tokens spans several latents, which are held or released together."""
    per_cell = family.cell // family.factor
    return cells.repeat(per_cell, 0).repeat(per_cell, 1)


def previewer(latent: torch.Tensor, rgb: np.ndarray) -> Callable[[torch.Tensor], np.ndarray]:
    """A linear latent-to-RGB map fitted on the source, for previews that cost no VAE
    decode; it works for any VAE, the built-in random ones included. Fitted on the first
    preview asked for, so edits nobody watches pay nothing."""
    h, w = latent.shape[-2:]
    fitted = []

    def fit() -> torch.Tensor:
        z = latent[0].float().reshape(latent.shape[1], -1).T.cpu()
        target = torch.from_numpy(resample.resize(rgb, (w, h))).reshape(-1, 3)
        return torch.linalg.lstsq(torch.cat([z, torch.ones(len(z), 1)], dim=1), target).solution

    def preview(denoised: torch.Tensor) -> np.ndarray:
        if not fitted:
            fitted.append(fit())
        d = denoised[0].float().reshape(denoised.shape[1], -1).T.cpu()
        rgb_small = torch.cat([d, torch.ones(len(d), 1)], dim=1) @ fitted[0]
        return (rgb_small.clamp(0, 1).reshape(h, w, 3) * 255).round().to(torch.uint8).numpy()

    return preview


def staged(on_step: OnStep, stage: int, stages: int) -> OnStep:
    """Report chain-mode steps as one run of stages x n steps."""

    def report(step: Step) -> None:
        on_step(replace(step, index=stage * step.total + step.index, total=stages * step.total))

    return report


def union(a: region.Box | None, b: region.Box | None) -> region.Box | None:
    if a is None or b is None:
        return a or b
    return min(a[0], b[0]), min(a[1], b[1]), max(a[2], b[2]), max(a[3], b[3])
