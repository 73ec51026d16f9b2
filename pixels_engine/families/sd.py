"""Stable Diffusion 1.x/2.x and SDXL: UNets predicting noise, on the Euler schedule.

Every model runs with Euler, as the official PIXELS code does, whatever scheduler the
checkpoint names: z_t = z + sigma_t * eps, deterministic steps. SD 1.x/2.x condition
on one text encoder's hidden states; SDXL also takes a pooled text embedding and "time
ids" (original size, crop, target size; the refiner swaps the target size for an
aesthetic score). Both encode prompts with the pipeline's own `encode_prompt`.
"""

from dataclasses import dataclass

import torch
from diffusers import (
    EulerDiscreteScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
    StableDiffusionXLImg2ImgPipeline,
    StableDiffusionXLPipeline,
)
from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import rescale_noise_cfg

from .base import Family, Schedule, guided, none_run, register, runs

# The refiner's conditioning, as SDXL's authors used it.
AESTHETIC_SCORE, NEGATIVE_AESTHETIC_SCORE = 6.0, 2.5


@dataclass
class TextEncoding:
    """Encoded prompts, [negative; positive] when classifier-free guidance is on."""

    embeds: torch.Tensor
    pooled: torch.Tensor | None  # SDXL only


@register
class StableDiffusion(Family):
    name = "sd"
    title = "Stable Diffusion 1.x/2.x and SDXL (base or refiner)"
    pipelines = (StableDiffusionXLImg2ImgPipeline, StableDiffusionImg2ImgPipeline)
    twins = {
        StableDiffusionXLPipeline: StableDiffusionXLImg2ImgPipeline,
        StableDiffusionPipeline: StableDiffusionImg2ImgPipeline,
    }

    @property
    def is_sdxl(self) -> bool:
        return isinstance(self.pipe, StableDiffusionXLImg2ImgPipeline)

    @property
    def native_size(self) -> int:
        return self.pipe.unet.config.sample_size * self.pipe.vae_scale_factor

    def schedule(self, steps: int, strength: float, size=None) -> Schedule:
        """The last int(steps x strength) of `steps` Euler steps, as img2img runs them."""
        scheduler = EulerDiscreteScheduler.from_config(self.pipe.scheduler.config)
        scheduler.set_timesteps(steps, device=self.device)
        run = runs(steps, strength, whole=True)
        if run < 1:
            raise none_run(steps, strength)
        start = steps - run
        scheduler.set_begin_index(start)
        sigmas = scheduler.sigmas[start : start + run]
        return Schedule(scheduler, scheduler.timesteps[start:], sigmas)

    def noised(self, clean, noise, level):
        return clean + level * noise

    def encode_text(self, prompt: str, negative_prompt: str, cfg: bool) -> TextEncoding:
        # SDXL zeroes an empty negative prompt when given None (force_zeros_for_empty_prompt).
        encoded = self.pipe.encode_prompt(
            prompt=prompt,
            device=self.device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=cfg,
            negative_prompt=negative_prompt or None,
        )
        if self.is_sdxl:
            embeds, negative, pooled, negative_pooled = encoded
            if cfg:
                return TextEncoding(
                    torch.cat([negative, embeds]), torch.cat([negative_pooled, pooled])
                )
            return TextEncoding(embeds, pooled)
        embeds, negative = encoded
        return TextEncoding(torch.cat([negative, embeds]) if cfg else embeds, None)

    def unet_kwargs(self, text: TextEncoding, size: tuple[int, int], cfg: bool) -> dict:
        """The keyword arguments the UNet takes besides the latents and timestep."""
        kwargs = {"encoder_hidden_states": text.embeds}
        if self.is_sdxl:
            width, height = size
            size_crop = [height, width, 0, 0]
            if self.pipe.config.requires_aesthetics_score:
                ids, negative_ids = (
                    size_crop + [AESTHETIC_SCORE],
                    size_crop + [NEGATIVE_AESTHETIC_SCORE],
                )
            else:
                ids = negative_ids = size_crop + [height, width]
            time_ids = torch.tensor([negative_ids, ids] if cfg else [ids], dtype=text.embeds.dtype)
            kwargs["added_cond_kwargs"] = {
                "text_embeds": text.pooled,
                "time_ids": time_ids.to(self.device),
            }
        return kwargs

    def stepper(self, text, schedule, size, settings):
        guidance = settings.guidance
        cfg = guided(guidance)
        kwargs = self.unet_kwargs(text, size, cfg)
        scheduler, unet = schedule.scheduler, self.denoiser

        def step(latents, i):
            t = schedule.timesteps[i]
            model_input = torch.cat([latents, latents]) if cfg else latents
            model_input = scheduler.scale_model_input(model_input, t)
            noise = unet(model_input, t, return_dict=False, **kwargs)[0]
            if cfg:
                uncond, cond = noise.chunk(2)
                noise = uncond + guidance * (cond - uncond)
                if settings.guidance_rescale > 0:
                    noise = rescale_noise_cfg(noise, cond, settings.guidance_rescale)
            out = scheduler.step(noise, t, latents, return_dict=True)
            return out.prev_sample, out.pred_original_sample

        return step
