"""The PIXELS progressive sampler on latents (Algorithm 1 of the paper, generalised to
any number of exemplars in one pass).

Every step i of the n steps run: cells whose release map is above threshold i are
reset to the source noised to that step (the same noise draw every step, so they stay
on one forward trajectory); then the model takes one step on the whole latent. Cells
claimed by an exemplar start from that exemplar's noised latent (the "surgical latent")
and are never reset; cells at 1 are reset every step.

Noising is done here, ``z + sigma_i * eps``, not with ``scheduler.add_noise``, which uses
one sigma for all rows once a begin index is set.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from diffusers import EulerDiscreteScheduler

from .errors import Cancelled, PixelsError


@dataclass
class Schedule:
    """The part of the scheduler's timesteps that is run, and their noise levels."""

    scheduler: EulerDiscreteScheduler
    timesteps: torch.Tensor  # n model timesteps, high noise first
    sigmas: torch.Tensor  # n noise levels, one per step run

    @property
    def steps(self) -> int:
        return len(self.timesteps)


def make_schedule(scheduler_config, steps: int, strength: float, device) -> Schedule:
    """The last ``int(steps * strength)`` of `steps` Euler steps, as img2img runs them.

    Euler (deterministic, ``z + sigma * eps`` noising) is used for every model, as in
    the official PIXELS code, whatever scheduler the checkpoint names.
    """
    scheduler = EulerDiscreteScheduler.from_config(scheduler_config)
    scheduler.set_timesteps(steps, device=device)
    run = min(int(steps * strength), steps)
    if run < 1:
        raise PixelsError(
            f"{strength:g} of {steps} steps runs no step (int(steps x strength) is 0); raise "
            "the strength or the steps",
            "strength",
        )
    start = steps - run
    scheduler.set_begin_index(start)
    return Schedule(scheduler, scheduler.timesteps[start:], scheduler.sigmas[start : start + run])


@dataclass
class Step:
    """What one denoising step did, for progress reports and for tests."""

    index: int  # 0-based among the steps run
    total: int
    timestep: float
    sigma: float
    held: torch.Tensor  # bool (h, w): cells reset to the noised source before the model ran
    model_input: torch.Tensor  # latents the model saw (after the reset)
    latents: torch.Tensor  # latents after the step
    denoised: torch.Tensor  # the model's estimate of the clean latent
    preview: Callable[[], np.ndarray]  # small RGB uint8 picture of `denoised`, on demand


Denoiser = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (latents, t) -> noise


def sample(
    denoise: Denoiser,
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

    `source` and `source_noise` are the source latent and its noise draw; `start` is the
    surgical latent at the first step's noise level; `release` (h, w) is the edit map on
    the latent grid; `thresholds` has one value per step run.
    """
    latents = start
    scheduler = schedule.scheduler
    for i, (t, sigma) in enumerate(zip(schedule.timesteps, schedule.sigmas, strict=True)):
        if cancelled is not None and cancelled():
            raise Cancelled()
        held = release > float(thresholds[i])
        latents = torch.where(held, source + sigma * source_noise, latents)
        model_input = latents
        noise = denoise(latents, t)
        out = scheduler.step(noise, t, latents, return_dict=True)
        latents = out.prev_sample
        if on_step is not None:
            denoised = out.pred_original_sample
            on_step(
                Step(
                    index=i,
                    total=schedule.steps,
                    timestep=float(t),
                    sigma=float(sigma),
                    held=held,
                    model_input=model_input,
                    latents=latents,
                    denoised=denoised,
                    preview=lambda d=denoised: preview(d),
                )
            )
    return latents
