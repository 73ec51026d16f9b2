"""PIXELS: progressive exemplar-based image editing with latent surgery, on diffusers.

    model = load_model("tiny")              # or "sdxl", a folder, a .safetensors file
    result = Editor(model).edit(source, [Exemplar(lake, lake_map)], EditSettings(seed=7))

Images are RGBA float32 arrays in [0, 1] on one canvas; maps are grey arrays where white
keeps the source and black takes the exemplar.
"""

from .editor import Editor, EditResult, EditSettings, Exemplar
from .errors import Cancelled, PixelsError
from .maps import MapOps
from .models import LoadedModel, load_model
from .sampler import Step

__all__ = [
    "Cancelled",
    "EditResult",
    "EditSettings",
    "Editor",
    "Exemplar",
    "LoadedModel",
    "MapOps",
    "PixelsError",
    "Step",
    "load_model",
]
