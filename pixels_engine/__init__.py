"""PIXELS: progressive exemplar-based image editing with latent surgery, on diffusers.

    model = load_model("tiny")              # or "sdxl", a folder, a .safetensors file
    result = Editor(model).edit(source, [Exemplar(lake, lake_map)], EditSettings(seed=7))

Images are RGBA float32 arrays in [0, 1] on one canvas; maps are grey arrays where white
keeps the source and black takes the exemplar (pixels_contract.schema's convention).

The names below are imported on first use, so that `pixels_engine.errors` or
`pixels_engine.catalog` can be read without loading torch and diffusers (the `pixels`
command starts in well under a second for the subcommands that need no model).
"""

import importlib

EXPORTS = {
    "Cancelled": "errors",
    "EditResult": "editor",
    "EditSettings": "settings",
    "Editor": "editor",
    "Exemplar": "editor",
    "LoadedModel": "models",
    "MapOps": "maps",
    "PixelsError": "errors",
    "Step": "sampler",
    "load_model": "models",
}
__all__ = sorted(EXPORTS)


def __getattr__(name: str):
    if name not in EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f".{EXPORTS[name]}", __name__), name)
