"""Finding and loading a diffusion model by the name a user gives.

A name is a built-in model (``tiny``, ``sdxl-random``), an alias (``sdxl``), a local
diffusers folder, a single ``.safetensors`` checkpoint, or a Hugging Face id. Pickle
checkpoints are refused: loading one runs whatever code its author put in it.
"""

import os
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch
from diffusers import (
    DiffusionPipeline,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionXLImg2ImgPipeline,
)
from diffusers.utils import logging as diffusers_logging
from huggingface_hub import constants as hf_constants
from huggingface_hub.utils import logging as hub_logging
from safetensors import SafetensorError
from transformers.utils import logging as transformers_logging

from . import budget, builtins, downloads
from .catalog import ALIASES, DEVICES, DTYPES
from .downloads import Progress
from .errors import PixelsError
from .families import FAMILIES, Family, family_of

PICKLE_SUFFIXES = (".ckpt", ".bin", ".pt", ".pth", ".pkl")
ALTERNATIVES = (
    "Use --model tiny (built-in, random weights) or sdxl-random (full SDXL size, random "
    "weights), a local diffusers folder, or a .safetensors file you already have."
)


@dataclass
class LoadedModel:
    """A pipeline ready to edit with, its family, and what the user should be told."""

    name: str
    pipe: object  # the family's diffusers image-to-image pipeline
    device: torch.device
    dtype: torch.dtype
    random_weights: bool
    working_size: int | None = None  # a built model's own, else the family's native size
    family: Family = field(init=False)

    def __post_init__(self):
        self.family = family_of(self.pipe, self.device, self.dtype)

    @property
    def native_size(self) -> int:
        """The side, in pixels, of the square the model works at (was trained at)."""
        return self.working_size or self.family.native_size


def pick_device(name: str) -> torch.device:
    """`auto` takes CUDA, then Apple MPS, then the CPU; a named device must exist."""
    if name not in DEVICES:
        raise PixelsError(f"{name!r:.40} is not a device; choose {', '.join(DEVICES)}.", "device")
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise PixelsError(
            "this torch build sees no CUDA GPU. Install a CUDA build of torch, or use the CPU.",
            "device",
        )
    if name == "mps" and not torch.backends.mps.is_available():
        raise PixelsError("Apple MPS is not available here. Use the CPU.", "device")
    return torch.device(name)


def pick_dtype(name: str, device: torch.device, half: torch.dtype = torch.float16) -> torch.dtype:
    """`auto` is the model's half precision on a GPU and fp32 on the CPU, where half
    precision is slow or unsupported."""
    dtypes = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
    if name not in DTYPES:
        raise PixelsError(f"{name!r:.40} is not a dtype; choose {', '.join(DTYPES)}.", "dtype")
    if name == "auto":
        return torch.float32 if torch.device(device).type == "cpu" else half
    if name == "fp16" and torch.device(device).type == "cpu":
        raise PixelsError("fp16 does not run on the CPU. Use fp32 or bf16.", "dtype")
    return dtypes[name]


def load_model(
    name: str,
    device: str = "auto",
    dtype: str = "auto",
    offload: bool = False,
    progress: Progress | None = None,
) -> LoadedModel:
    """Load `name` onto the chosen device, as an image-to-image pipeline. `offload` keeps
    each component on the CPU until it runs (for cards smaller than the model);
    `progress` hears of a download's bytes."""
    quiet_libraries()
    dev = pick_device(device)
    if name in builtins.FULL:
        dt = pick_dtype(dtype, dev, half=builtins.HALF[name])
        check_fits(name, dt, torch.device("cpu") if offload else dev)
        pipe = place(
            builtins.full(name, dev if not offload else torch.device("cpu"), dt), dev, offload
        )
        return LoadedModel(name, pipe, dev, dt, random_weights=True)
    source = str(builtins.tiny_folder(name)) if name in builtins.TINY else ALIASES.get(name, name)
    path = Path(os.path.expanduser(source))  # ~nobody stays as it is (Path's would raise)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise PixelsError(
            f"refusing to load {name}: {path.suffix} files are Python pickles, and loading "
            "one runs any code its author put in it. Use the .safetensors version of the "
            "model, or a diffusers folder.",
            "model",
        )
    if path.suffix.lower() == ".safetensors":
        if not path.is_file():
            raise PixelsError(f"model file not found: {source}. Check the path.", "model")
        dt = pick_dtype(dtype, dev)
        pipe = from_single_file(path, dt)
    elif (path / "model_index.json").is_file():
        dt = pick_dtype(dtype, dev, half=half_dtype(path))
        pipe = from_pretrained(path, dt)
    elif path.is_absolute() or source.startswith((".", "~")):
        # The same words whether or not something else is there, with the name as given
        # (~user expanded would tell whether that user has a home): a client of the
        # server learns nothing of its disk but where its models are.
        raise PixelsError(
            f"model folder not found: {source} (a diffusers model folder holds "
            "model_index.json; or give a .safetensors file). Check the path.",
            "model",
        )
    else:
        dt = pick_dtype(dtype, dev, half=half_dtype(source))
        pipe = from_hub(source, dt, progress)
    built = builtins.built(path) if path.is_dir() else None
    native = built["native_size"] if built else None
    pipe = place(pipe, dev, offload)
    return LoadedModel(name, pipe, dev, dt, built is not None, native)


def check_fits(name: str, dtype: torch.dtype, device: torch.device) -> None:
    """Refuse a built-in full-size model whose weights alone would not fit `device`'s
    free memory, before any of it is allocated (a failed load would first take all
    there is). Free memory is read first: counting the weights leaves freed blocks
    that the load would reuse."""
    free = budget.free_bytes(device)
    need = builtins.full_bytes(name, dtype)
    if free is not None and need > free:
        raise PixelsError(
            f"model {name} needs about {need / 2**30:.1f} GB on {device.type} for its weights "
            f"alone, and {free / 2**30:.1f} GB is free there. Free memory, choose a smaller "
            "dtype (bf16) or another device, or a smaller model.",
            "model",
        )


def half_dtype(source) -> torch.dtype:
    """The half precision a model runs in on a GPU: its family's (`Family.half`), found
    from the pipeline the folder's (or the cached repository's) model_index.json names;
    fp16 when it cannot be read."""
    try:
        name = DiffusionPipeline.load_config(source, local_files_only=True)["_class_name"]
    except (OSError, ValueError, KeyError, TypeError):
        return torch.float16
    return next((f.half for f in FAMILIES if name in f.names()), torch.float16)


def place(pipe, device: torch.device, offload: bool):
    """Move to `device`, or, with `offload`, keep each component on the CPU until it
    runs (diffusers' model CPU offload: the card holds one component at a time). A VAE
    that overflows in fp16 (SDXL's) runs in fp32, as diffusers would upcast it for every
    encode and decode anyway."""
    vae = getattr(pipe, "vae", None)
    if vae is not None and vae.dtype == torch.float16 and vae.config.force_upcast:
        vae.to(torch.float32)
    if offload and device.type != "cpu":
        pipe.enable_model_cpu_offload(device=device)
    else:
        pipe.to(device)
    return pipe


def from_pretrained(source, dtype: torch.dtype, local_files_only: bool = False):
    """A diffusers folder or Hub id, safetensors weights only (the half-precision variant
    first, where the model runs in half precision and the folder has one), as the
    image-to-image pipeline of its family (a text-to-image checkpoint is converted)."""
    for variant in half_variant(dtype), None:
        try:
            pipe = DiffusionPipeline.from_pretrained(
                source,
                dtype=dtype,
                use_safetensors=True,
                local_files_only=local_files_only,
                variant=variant,
            )
        except (OSError, ValueError, SafetensorError) as e:
            if variant is not None:
                continue  # no such variant: the full-precision files, cast
            raise PixelsError(cannot_load(source, e)) from None
        return as_img2img(pipe, source)


def cannot_load(source, error: Exception) -> str:
    """Why a diffusers folder or Hub id did not load, and what to do: a folder that is
    there but does not load has a damaged or missing file."""
    if Path(source).is_dir():
        return (
            f"could not load the model folder {source}: {first_line(error)}. A file in it "
            "is damaged or incomplete (a copy or download cut short?): copy or download "
            "the model again."
        )
    return (
        f"could not load model {source}: {first_line(error)}. If it is a Hugging Face id, "
        f"this machine may be offline or the id misspelt. {ALTERNATIVES}"
    )


def half_variant(dtype: torch.dtype) -> str | None:
    """The files to prefer: the "fp16" variant for a model run in fp16 or bf16 (half
    the download and memory of the full-precision files it would be cast from)."""
    return "fp16" if dtype in (torch.float16, torch.bfloat16) else None


def from_hub(repo_id: str, dtype: torch.dtype, progress: Progress | None = None):
    """A Hub id: from the local cache if it is there, else downloaded once, with
    progress. An offline machine is told so at once instead of after a minute of
    retries; a gated model, how to get access."""
    try:
        return from_pretrained(repo_id, dtype, local_files_only=True)
    except PixelsError:
        pass
    if not downloads.reachable():
        host = urlparse(hf_constants.ENDPOINT).hostname
        raise PixelsError(
            f"model {repo_id} is not in the local Hugging Face cache and {host} cannot be "
            f"reached (offline?), so it cannot be downloaded. {ALTERNATIVES}"
        )
    folder = downloads.fetch(repo_id, half_variant(dtype), progress)
    return from_pretrained(folder, dtype, local_files_only=True)


def from_single_file(path: Path, dtype: torch.dtype):
    """A single checkpoint as other UIs keep them; SDXL and SD 1.x/2.x layouts."""
    errors = []
    for cls in (StableDiffusionXLImg2ImgPipeline, StableDiffusionImg2ImgPipeline):
        try:
            return cls.from_single_file(str(path), dtype=dtype)
        except (OSError, ValueError, KeyError, RuntimeError) as e:
            errors.append(first_line(e))
    raise PixelsError(
        f"could not load {path} as an SDXL or SD 1.x/2.x checkpoint ({errors[-1]}). "
        "Loading a single file needs the model's configuration, which is fetched once "
        f"from the Hugging Face Hub; offline, use a diffusers folder instead. {ALTERNATIVES}"
    )


def as_img2img(pipe, source):
    """The pipeline as its family's image-to-image pipeline, before it is moved to a
    device; a PixelsError naming the families when none runs it."""
    for family in FAMILIES:
        if family.takes(pipe):
            return pipe
        if type(pipe) in family.twins:
            return family.twins[type(pipe)].from_pipe(pipe)
    raise PixelsError(
        f"{source} is a {type(pipe).__name__}; PIXELS Studio runs "
        f"{', '.join(family.title for family in FAMILIES)} checkpoints."
    )


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def quiet_libraries() -> None:
    """diffusers and transformers log progress bars and advice meant for developers."""
    diffusers_logging.set_verbosity_error()
    diffusers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    transformers_logging.disable_progress_bar()
    hub_logging.set_verbosity_error()
