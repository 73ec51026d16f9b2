"""Kandinsky 3: a UNet predicting noise on a DDPM schedule, decoded by its MoVQ (a
VQ-GAN whose latents keep pixels in place, as the PIXELS paper notes), conditioned on
a T5 encoder's hidden states with their attention mask.

A clean latent is noised to timestep t as sqrt(abar_t) * z + sqrt(1 - abar_t) * eps,
with abar_t read from the scheduler's table for that very step (its `add_noise` would
take one timestep for every row: ALGORITHM.md section 6). Guidance is Kandinsky's own
form, (g + 1) * cond - g * uncond. DDPM steps are stochastic: their noise comes from a
generator seeded from the edit's seed, so a seed still gives the same edit.
"""

import numpy as np
import torch
from diffusers import DDPMScheduler, Kandinsky3Img2ImgPipeline, Kandinsky3Pipeline

from .base import Family, Schedule, guided, none_run, register, runs, to_rgb

STEP_NOISE_OFFSET = 1  # the steps' generator: seed + this, apart from the reset draws


@register
class Kandinsky3(Family):
    name = "kandinsky3"
    title = "Kandinsky 3"
    pipelines = (Kandinsky3Img2ImgPipeline,)
    twins = {Kandinsky3Pipeline: Kandinsky3Img2ImgPipeline}
    native_size = 1024  # the pipeline's default height and width

    @property
    def decoder(self):
        return self.pipe.movq

    @property
    def factor(self) -> int:
        return self.pipe.image_processor.config.vae_scale_factor

    def encode(self, rgb: np.ndarray) -> torch.Tensor:
        movq = self.decoder
        pixels = torch.from_numpy(np.ascontiguousarray(rgb)).permute(2, 0, 1)[None] * 2.0 - 1.0
        return movq.encode(pixels.to(self.device, movq.dtype)).latents.to(self.dtype)

    def decode(self, latents: torch.Tensor) -> np.ndarray:
        movq = self.decoder
        return to_rgb(movq.decode(latents.to(movq.dtype), force_not_quantize=True).sample)

    def schedule(self, steps: int, strength: float, size=None) -> Schedule:
        scheduler = DDPMScheduler.from_config(self.pipe.scheduler.config)
        scheduler.set_timesteps(steps, device=self.device)
        run = runs(steps, strength, whole=True)
        if run < 1:
            raise none_run(steps, strength)
        timesteps = scheduler.timesteps[steps - run :]
        levels = scheduler.alphas_cumprod.to(self.device)[timesteps]  # abar_t
        return Schedule(scheduler, timesteps, levels)

    def noised(self, clean, noise, level):
        return level.sqrt() * clean + (1.0 - level).sqrt() * noise

    def encode_text(self, prompt: str, negative_prompt: str, cfg: bool):
        embeds, negative, mask, negative_mask = self.pipe.encode_prompt(
            prompt,
            cfg,
            num_images_per_prompt=1,
            device=self.device,
            negative_prompt=negative_prompt,
        )
        if cfg:
            return torch.cat([negative, embeds]), torch.cat([negative_mask, mask]).bool()
        return embeds, mask.bool()

    def stepper(self, text, schedule, size, settings):
        guidance = settings.guidance
        cfg = guided(guidance)
        embeds, mask = text
        unet, scheduler = self.denoiser, schedule.scheduler
        generator = torch.Generator("cpu").manual_seed(settings.seed + STEP_NOISE_OFFSET)

        def step(latents, i):
            t = schedule.timesteps[i]
            model_input = torch.cat([latents, latents]) if cfg else latents
            noise = unet(model_input, t, encoder_hidden_states=embeds, encoder_attention_mask=mask)[
                0
            ]
            if cfg:
                uncond, cond = noise.chunk(2)
                noise = (guidance + 1.0) * cond - guidance * uncond
            out = scheduler.step(noise, t, latents, generator=generator)
            return out.prev_sample, out.pred_original_sample

        return step
