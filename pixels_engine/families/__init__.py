"""Model families: the few things the PIXELS loop needs from a diffusion model, one
module each. The loop itself (sampler.py) and everything around it (editor.py) are
shared by every family.

- `sd`: Stable Diffusion 1.x/2.x and SDXL, UNets on the Euler schedule (noised as
  z + sigma * eps);
- `flow`: the rectified-flow transformers, noised as (1 - sigma) * z + sigma * eps on
  their own shifted schedules: Stable Diffusion 3.x (`sd3`), FLUX.1 (`flux`), Chroma
  (`chroma`);
- `kandinsky3`: Kandinsky 3, a UNet on a DDPM schedule with its MoVQ decoder.
"""

from . import chroma, flux, kandinsky3, sd, sd3
from .base import FAMILIES, Family, Schedule, family_of

__all__ = [
    "FAMILIES",
    "Family",
    "Schedule",
    "chroma",
    "family_of",
    "flux",
    "kandinsky3",
    "sd",
    "sd3",
]
