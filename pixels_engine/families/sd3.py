"""Stable Diffusion 3.x (3.5 medium and large): an MMDiT transformer predicting velocity
on 16-channel latents (the VAE's shift as well as its scale), three text encoders
(CLIP-L, CLIP-G, T5-XXL; T5 optional) and classifier-free guidance as a batch of two,
on a fixed-shift flow schedule."""

from dataclasses import dataclass

import torch
from diffusers import StableDiffusion3Img2ImgPipeline, StableDiffusion3Pipeline

from .base import guided, register
from .flow import FlowFamily


@dataclass
class TextEncoding:
    embeds: torch.Tensor  # [negative; positive] with guidance
    pooled: torch.Tensor


@register
class StableDiffusion3(FlowFamily):
    name = "sd3"
    title = "Stable Diffusion 3.x"
    pipelines = (StableDiffusion3Img2ImgPipeline,)
    twins = {StableDiffusion3Pipeline: StableDiffusion3Img2ImgPipeline}

    @property
    def native_size(self) -> int:
        return self.pipe.default_sample_size * self.pipe.vae_scale_factor

    @property
    def cell(self) -> int:
        """The transformer's patches: 2 x 2 latents, 16 pixels."""
        return self.pipe.transformer.config.patch_size * self.pipe.vae_scale_factor

    def encode_text(self, prompt: str, negative_prompt: str, cfg: bool) -> TextEncoding:
        embeds, negative, pooled, negative_pooled = self.pipe.encode_prompt(
            prompt=prompt,
            prompt_2=None,
            prompt_3=None,
            device=self.device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=cfg,
            negative_prompt=negative_prompt,
        )
        if cfg:
            return TextEncoding(torch.cat([negative, embeds]), torch.cat([negative_pooled, pooled]))
        return TextEncoding(embeds, pooled)

    def stepper(self, text, schedule, size, settings):
        guidance = settings.guidance
        cfg = guided(guidance)
        transformer = self.denoiser

        def step(latents, i):
            model_input = torch.cat([latents, latents]) if cfg else latents
            timestep = schedule.timesteps[i].expand(model_input.shape[0])
            velocity = transformer(
                hidden_states=model_input,
                timestep=timestep,
                encoder_hidden_states=text.embeds,
                pooled_projections=text.pooled,
                return_dict=False,
            )[0]
            if cfg:
                uncond, cond = velocity.chunk(2)
                velocity = uncond + guidance * (cond - uncond)
            return self.euler(schedule, i, latents, velocity)

        return step
