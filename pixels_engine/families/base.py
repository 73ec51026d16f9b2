"""The seam between the PIXELS loop and a model family.

A family says how its model encodes a picture to latents and decodes them, how a clean
latent is noised to a step's level, which steps a strength runs (as the family's own
image-to-image pipeline runs them), how prompts condition it, and how one denoising
step goes. The loop needs nothing else: thresholds, the release rule, the surgical
start, one fixed noise draw and paste-back are the same for every family.

Latents are always the family's unpacked grid, [1, C, H/8, W/8]; a family whose model
packs 2x2 latent patches into tokens (FLUX) packs and unpacks inside `step`, and says so
with `cell` = 16: the map is reduced to 16 x 16 pixel cells, so a token is held or
released whole.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import PixelsError


def guided(guidance: float) -> bool:
    """Classifier-free guidance at 1 or less changes nothing (the contract's words), so
    it is skipped: one model call a step, and no negative prompt encoded."""
    return guidance > 1.0


# One denoising step on the unpacked latents at step i: (new latents, the model's
# estimate of the clean latent, for previews).
Stepper = Callable[[torch.Tensor, int], tuple[torch.Tensor, torch.Tensor]]


@dataclass
class Schedule:
    """The part of a family's schedule that an edit runs."""

    scheduler: object  # the family's diffusers scheduler, set to these steps
    timesteps: torch.Tensor  # the n model timesteps run, high noise first
    levels: torch.Tensor  # the n noise levels the forward process uses at them

    @property
    def steps(self) -> int:
        return len(self.timesteps)


class Family:
    """What the PIXELS loop needs from one model family; `pipe` is its diffusers
    image-to-image pipeline, loaded."""

    name = "?"  # short, for logs and the model menu
    title = "?"  # for people: "Stable Diffusion 1.x/2.x and SDXL"
    pipelines: tuple[type, ...] = ()  # the diffusers image-to-image pipelines it runs
    twins: dict[type, type] = {}  # a text-to-image pipeline -> its image-to-image twin
    cell = 8  # pixels per cell of the latent grid that maps are reduced to
    half = torch.float16  # the half precision it runs in on a GPU, as published

    def __init__(self, pipe, device: torch.device, dtype: torch.dtype):
        self.pipe, self.device, self.dtype = pipe, device, dtype
        # The model the steps call: the UNet or transformer, or its compiled form.
        self.denoiser = getattr(pipe, "unet", None) or pipe.transformer

    @property
    def schema_name(self) -> str:
        """The family's name in the edit contract (pixels_contract.schema.FAMILIES),
        which says what parameters it takes and their defaults."""
        return self.name

    @classmethod
    def takes(cls, pipe) -> bool:
        return isinstance(pipe, cls.pipelines)

    @classmethod
    def names(cls) -> set[str]:
        """The class names of the pipelines it runs or converts, as a model_index.json
        names them."""
        return {p.__name__ for p in (*cls.pipelines, *cls.twins)}

    @property
    def factor(self) -> int:
        """Pixels per latent, along each side."""
        return self.pipe.vae_scale_factor

    @property
    def native_size(self) -> int:
        """The side, in pixels, of the square the model was trained at."""
        raise NotImplementedError

    def encode(self, rgb: np.ndarray) -> torch.Tensor:
        """The clean latent of an RGB picture in [0, 1] (H x W x 3): the VAE's mean (no
        sampling: the forward process adds the noise), shifted and scaled as the
        family's pipeline does."""
        vae = self.decoder
        pixels = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None] * 2.0 - 1.0
        latent = vae.encode(pixels.to(self.device, vae.dtype)).latent_dist.mean
        shift = vae.config.get("shift_factor") or 0.0
        return ((latent - shift) * vae.config.scaling_factor).to(self.dtype)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        """RGB in [0, 1] (H x W x 3) of a clean latent."""
        vae = self.decoder
        shift = vae.config.get("shift_factor") or 0.0
        image = vae.decode(latents.to(vae.dtype) / vae.config.scaling_factor + shift).sample
        return to_rgb(image)

    @property
    def decoder(self):
        """The autoencoder: the VAE (Kandinsky's MoVQ)."""
        return self.pipe.vae

    def low_memory(self, on: bool) -> None:
        """Slower, leaner attention (in slices) and a tiled decoder, or the usual path."""
        if on:
            self.pipe.enable_attention_slicing()
            self.decoder.enable_tiling()
        else:
            self.pipe.disable_attention_slicing()
            self.decoder.disable_tiling()

    def schedule(self, steps: int, strength: float, size: tuple[int, int]) -> Schedule:
        """The steps an edit of `size` (width, height) runs, as the family's own
        image-to-image pipeline picks them."""
        raise NotImplementedError

    def noised(self, clean: torch.Tensor, noise: torch.Tensor, level) -> torch.Tensor:
        """The forward process: `clean` noised to a step's level with `noise`."""
        raise NotImplementedError

    def encode_text(self, prompt: str, negative_prompt: str, guided: bool) -> object:
        """The prompts' encoding, with the negative prompt's when `guided` (cached by the
        editor: it depends on nothing else of the edit)."""
        raise NotImplementedError

    def stepper(self, text, schedule: Schedule, size: tuple[int, int], settings) -> Stepper:
        """One denoising step of this edit: conditioning, guidance, the model call(s) and
        the scheduler's update, as the family's pipeline does them. `settings` is the
        edit's EditSettings (its seed drawn), so that a family reads the parameters it
        takes without the editor knowing which those are."""
        raise NotImplementedError


FAMILIES: list[type[Family]] = []  # filled by each family module, most specific first


def register(family: type[Family]) -> type[Family]:
    FAMILIES.append(family)
    return family


def family_of(pipe, device: torch.device, dtype: torch.dtype) -> Family:
    """The family that runs `pipe`, or a PixelsError naming what does."""
    for family in FAMILIES:
        if family.takes(pipe):
            return family(pipe, device, dtype)
    names = ", ".join(f.title for f in FAMILIES)
    raise PixelsError(
        f"a {type(pipe).__name__} is not a model family PIXELS Studio runs; it runs {names}."
    )


def to_rgb(image: torch.Tensor) -> np.ndarray:
    """A decoder's [-1, 1] output (1 x 3 x H x W) as H x W x 3 in [0, 1]."""
    image = ((image[0].float() + 1.0) / 2.0).clamp(0, 1)
    return image.permute(1, 2, 0).cpu().numpy()


def runs(steps: int, strength: float, whole: bool) -> int:
    """How many of `steps` a strength runs: int(steps x strength) for the UNet
    pipelines (`whole`), steps - int(steps - steps x strength) for the flow ones."""
    if whole:
        return min(int(steps * strength), steps)
    return steps - int(max(steps - steps * strength, 0))


def none_run(steps: int, strength: float) -> PixelsError:
    return PixelsError(
        f"{strength:g} of {steps} steps runs no step (int(steps x strength) is 0); raise the "
        "strength or the steps",
        "strength",
    )
