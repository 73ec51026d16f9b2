"""Models the project builds itself: the real architectures with seeded random weights.

No weights can be downloaded where this project is developed and tested, so the code
that runs each family is exercised on pipelines built here from configs:

- `tiny`, `tiny-sd3`, `tiny-flux`, `tiny-chroma`, `tiny-kandinsky`: each family's real
  layout (its text encoders, conditioning, VAE or MoVQ, transformer or UNet) at a tiny
  width, saved to a cache folder on first use and loaded back with `from_pretrained`
  exactly like a downloaded checkpoint. Fast on a CPU; the tests use them.
- `sdxl-random`, `sd35-random`, `flux-random`: the full-size architectures from the
  published configs in `configs/`, for timing and memory on a GPU, built on the device
  and never written to disk.

Their output is noise-like: they prove the pipelines run, not that edits look right.
Tokenizers are built locally (the real vocabularies cannot be downloaded): they give the
ids the models expect, which is all random weights need.
"""

import tempfile
from pathlib import Path

import torch
from accelerate import init_empty_weights

from . import chroma, flux, kandinsky3, sd3, sdxl
from .cache import MARKER, built, cache_dir, model_folder

__all__ = ["MARKER", "built", "cache_dir", "full", "tiny_folder"]

TINY_SIZE = 512  # the tiny models work at 512 x 512: a few seconds an edit on a CPU
TINY = {  # name -> (version, which changes when the build does; builder)
    "tiny": ("tiny-sdxl-v2", sdxl.tiny),
    "tiny-sd3": ("tiny-sd3-v2", sd3.tiny),
    "tiny-flux": ("tiny-flux-v2", flux.tiny),
    "tiny-chroma": ("tiny-chroma-v2", chroma.tiny),
    "tiny-kandinsky": ("tiny-kandinsky3-v2", kandinsky3.tiny),
}
FULL = {"sdxl-random": sdxl.full, "sd35-random": sd3.full, "flux-random": flux.full}
HALF = {  # the half precision each full-size model runs in on a GPU, as published
    "sdxl-random": torch.float16,
    "sd35-random": torch.bfloat16,
    "flux-random": torch.bfloat16,
}


def tiny_folder(name: str = "tiny") -> Path:
    """A tiny pipeline's folder in the cache, built on first use and rebuilt when it no
    longer matches its checksums (`cache.model_folder`)."""
    version, build = TINY[name]
    about = {"random_weights": True, "native_size": TINY_SIZE}
    return model_folder(name, version, build, about)


def full_bytes(name: str, dtype: torch.dtype) -> int:
    """The memory a full-size model's weights take in `dtype`, counted on the
    architecture built without them (seconds, and no weight memory)."""
    with tempfile.TemporaryDirectory() as tmp, init_empty_weights():
        pipe = FULL[name](Path(tmp))
    modules = [c for c in pipe.components.values() if isinstance(c, torch.nn.Module)]
    count = sum(p.numel() for module in modules for p in module.parameters())
    return count * dtype.itemsize


def full(name: str, device: torch.device, dtype: torch.dtype):
    """A full-size architecture with random weights, built on `device` in `dtype` (made
    in that dtype from the start: FLUX's 17 billion parameters in fp32 would take twice
    the memory for nothing)."""
    default = torch.get_default_dtype()
    torch.set_default_dtype(dtype)
    try:
        with tempfile.TemporaryDirectory() as tmp, torch.device(device):
            pipe = FULL[name](Path(tmp))
    finally:
        torch.set_default_dtype(default)
    return pipe.to(device=device, dtype=dtype)
