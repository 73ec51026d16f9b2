"""What the rectified-flow families share: the forward process
x_sigma = (1 - sigma) * z + sigma * eps, and a shifted flow-matching Euler schedule
of which a strength runs the last steps, as their image-to-image pipelines pick them.

sigma_i is read from the scheduler after `set_timesteps` (with its shift, or the
image's `mu` where the family shifts dynamically), never recomputed; the noising is done
here, not with the scheduler's `scale_noise`, whose sigma depends on the scheduler's
step index (ALGORITHM.md section 6). A step is the scheduler's Euler update of the
model's velocity, elementwise, so it runs on the unpacked latents whatever the model
packs.
"""

import numpy as np
import torch
from diffusers import FlowMatchEulerDiscreteScheduler
from diffusers.pipelines.flux.pipeline_flux import calculate_shift

from .base import Family, Schedule, none_run, runs


class FlowFamily(Family):
    half = torch.bfloat16  # trained and published in it; fp16 overflows in them
    # Sigmas the pipeline passes to set_timesteps: None for the scheduler's own spacing
    # (SD3), linspace(1, 1/n, n) for FLUX and its kin.
    linear_sigmas = False

    def mu(self, size: tuple[int, int]) -> float | None:
        """The dynamic shift for an image of `size`, where the scheduler takes one."""
        config = self.pipe.scheduler.config
        if not config.get("use_dynamic_shifting"):
            return None
        width, height = size
        patches = (width // self.cell) * (height // self.cell)
        return calculate_shift(
            patches,
            config.get("base_image_seq_len", 256),
            config.get("max_image_seq_len", 4096),
            config.get("base_shift", 0.5),
            config.get("max_shift", 1.15),
        )

    def schedule(self, steps: int, strength: float, size: tuple[int, int]) -> Schedule:
        scheduler = FlowMatchEulerDiscreteScheduler.from_config(self.pipe.scheduler.config)
        sigmas = np.linspace(1.0, 1 / steps, steps) if self.linear_sigmas else None
        mu = self.mu(size)
        extra = {} if mu is None else {"mu": mu}
        scheduler.set_timesteps(steps, device=self.device, sigmas=sigmas, **extra)
        run = runs(steps, strength, whole=False)
        if run < 1:
            raise none_run(steps, strength)
        start = steps - run
        scheduler.set_begin_index(start)
        sigmas = scheduler.sigmas[start : start + run].to(self.device)
        return Schedule(scheduler, scheduler.timesteps[start:], sigmas)

    def noised(self, clean, noise, level):
        return (1.0 - level) * clean + level * noise

    def euler(self, schedule: Schedule, i: int, latents, velocity):
        """The scheduler's update and the clean estimate x - sigma * v."""
        t = schedule.timesteps[i]
        out = schedule.scheduler.step(velocity, t, latents, return_dict=True)
        denoised = latents - schedule.levels[i] * velocity
        return out.prev_sample, denoised
