"""`pixels demo`: a two-exemplar edit end to end, written with a side-by-side figure."""

import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from pixels_engine.images import save_image, to_uint8


def register(commands) -> None:
    parser = commands.add_parser("demo", help="run a two-exemplar edit on sample images")
    parser.add_argument("--out-dir", default="demo-output", help="where to write the images")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--size", type=int, default=512, help="canvas side in pixels")
    parser.add_argument("--seed", type=int, default=7)
    parser.set_defaults(run=run)


def run(args) -> int:
    from pixels_engine import Editor, EditSettings, load_model
    from pixels_engine.editor import resolve_maps

    from . import samples

    out = Path(args.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    samples.save_scene(out, args.size)
    source, exemplars = samples.scene(args.size)
    settings = EditSettings(seed=args.seed, steps=30, strength=0.6)
    began = time.perf_counter()
    model = load_model(args.model)
    if model.random_weights:
        print(
            f"note: model '{model.name}' has RANDOM weights; the edited areas will look like "
            "noise. The demo shows the pipeline (maps, placement, paste-back), not quality.",
            file=sys.stderr,
        )
    result = Editor(model).edit(source, exemplars, settings)
    save_image(result.image, out / "edited.png")
    edit_maps = resolve_maps(exemplars, None, settings)
    panels = [
        ("source", source),
        ("exemplar 1: lake", exemplars[0].image),
        ("map 1 (given)", edit_maps[0]),
        ("exemplar 2: rug", exemplars[1].image),
        ("map 2 (from alpha)", edit_maps[1]),
        (f"result, {model.name} model", result.image),
    ]
    figure(panels).save(out / "figure.png")
    print(
        f"wrote {out}/edited.png and {out}/figure.png (seed {result.seed}, "
        f"{result.steps_run} steps, {time.perf_counter() - began:.1f}s)"
    )
    return 0


def figure(panels: list[tuple[str, np.ndarray]], side: int = 256) -> Image.Image:
    """Panels side by side with captions; transparent areas shown on a checkerboard."""
    label = 22
    sheet = Image.new("RGB", (side * len(panels), side + label), "white")
    draw = ImageDraw.Draw(sheet)
    y, x = np.mgrid[0:side, 0:side]
    checker = np.where(((x // 16 + y // 16) % 2 == 0)[..., None], 0.8, 0.6)
    for i, (caption, array) in enumerate(panels):
        image = np.asarray(Image.fromarray(to_uint8(array)).resize((side, side)), np.float32) / 255
        if image.ndim == 2:
            image = np.repeat(image[..., None], 3, axis=-1)
        elif image.shape[-1] == 4:
            image = image[..., :3] * image[..., 3:] + checker * (1 - image[..., 3:])
        sheet.paste(Image.fromarray(to_uint8(image)), (i * side, label))
        draw.text((i * side + 6, 5), caption, fill="black")
    return sheet
