"""The PIXELS progressive sampler on latents (Algorithm 1 of the paper, generalised to
any number of exemplars in one pass), the same loop for every model family.

Every step i of the n steps run: cells whose release level is above threshold i are
reset to the source noised to that step's own level (the same noise draw every step,
so they stay on one forward trajectory); then the model takes one step on the whole
latent. Cells claimed by an exemplar start from that exemplar's noised latent (the
"surgical latent") and are never reset; cells at 1 are reset every step.

Noising is the family's forward process at the schedule's level for that very step
(`Family.noised`), never `scheduler.add_noise`, which uses one level for all rows once a
begin index is set.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from .errors import Cancelled
from .families.base import Schedule, Stepper


@dataclass
class Step:
    """What one denoising step did, for progress reports and for tests."""

    index: int  # 0-based among the steps run
    total: int
    timestep: float
    sigma: float  # the step's noise level
    held: torch.Tensor  # bool (h, w): cells reset to the noised source before the model ran
    model_input: torch.Tensor  # latents the model saw (after the reset)
    latents: torch.Tensor  # latents after the step
    denoised: torch.Tensor  # the model's estimate of the clean latent
    preview: Callable[[], np.ndarray]  # small RGB uint8 picture of `denoised`, on demand


def sample(
    step: Stepper,
    noised: Callable[[torch.Tensor, torch.Tensor, object], torch.Tensor],
    schedule: Schedule,
    source: torch.Tensor,
    source_noise: torch.Tensor,
    start: torch.Tensor,
    release: torch.Tensor,
    thresholds: np.ndarray,
    preview: Callable[[torch.Tensor], np.ndarray],
    on_step: Callable[[Step], None] | None = None,
    cancelled: Callable[[], bool] | None = None,
) -> torch.Tensor:
    """Run the progressive loop and return the final latents.

    `step` is the family's denoising step, `noised` its forward process; `source` and
    `source_noise` are the source latent and its noise draw; `start` is the surgical
    latent at the first step's level; `release` (h, w) is the edit map on the latent
    grid as whole levels (`thresholds.grey_levels`) and `thresholds` their step-by-step
    counterpart (`thresholds.threshold_levels`), one per step run.
    """
    latents = start
    for i, (t, level) in enumerate(zip(schedule.timesteps, schedule.levels, strict=True)):
        if cancelled is not None and cancelled():
            raise Cancelled()
        held = release > int(thresholds[i])
        latents = torch.where(held, noised(source, source_noise, level), latents)
        model_input = latents
        latents, denoised = step(latents, i)
        if on_step is not None:
            on_step(
                Step(
                    index=i,
                    total=schedule.steps,
                    timestep=float(t),
                    sigma=float(level),
                    held=held,
                    model_input=model_input,
                    latents=latents,
                    denoised=denoised,
                    preview=lambda d=denoised: preview(d),
                )
            )
    return latents
