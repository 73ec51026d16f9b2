"""FLUX.1 (dev and schnell): a transformer predicting velocity on 16-channel latents
packed into tokens of 2 x 2 latents (a map cell is 16 x 16 pixels), conditioned on T5
and CLIP's pooled text, on a flow schedule shifted by the image's token count.

dev is guidance-distilled: the guidance is an input to the model, one call a step, no
negative prompt. schnell takes no guidance at all and runs in 1 to 4 steps, so an edit
map has at most 4 grey levels of release.
"""

from dataclasses import dataclass

import torch
from diffusers import FluxImg2ImgPipeline, FluxPipeline

from .base import register
from .flow import FlowFamily


@dataclass
class TextEncoding:
    embeds: torch.Tensor
    pooled: torch.Tensor | None
    ids: torch.Tensor
    mask: torch.Tensor | None = None  # Chroma's T5 attention mask


class PackedFlowFamily(FlowFamily):
    """A flow family whose model takes 2 x 2 latent patches as tokens, FLUX's way."""

    linear_sigmas = True
    cell = 16

    @property
    def native_size(self) -> int:
        return self.pipe.default_sample_size * self.pipe.vae_scale_factor

    def pack(self, latents: torch.Tensor) -> torch.Tensor:
        """[1, C, h, w] latents as [1, h/2 * w/2, 4C] tokens, row by row, each token a
        2 x 2 patch with its channels first (FLUX's layout)."""
        _, channels, height, width = latents.shape
        patches = latents.view(1, channels, height // 2, 2, width // 2, 2)
        return patches.permute(0, 2, 4, 1, 3, 5).reshape(1, -1, channels * 4)

    def unpack(self, tokens: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        width, height = size
        rows, columns = height // self.cell, width // self.cell
        channels = tokens.shape[-1] // 4
        patches = tokens.view(1, rows, columns, channels, 2, 2)
        return patches.permute(0, 3, 1, 4, 2, 5).reshape(1, channels, rows * 2, columns * 2)

    def image_ids(self, size: tuple[int, int]) -> torch.Tensor:
        """Each token's position (0, row, column), for the model's rotary embedding."""
        width, height = size
        rows, columns = height // self.cell, width // self.cell
        ids = torch.zeros(rows, columns, 3)
        ids[..., 1] = torch.arange(rows)[:, None]
        ids[..., 2] = torch.arange(columns)[None, :]
        return ids.reshape(rows * columns, 3).to(self.device, self.dtype)


@register
class Flux(PackedFlowFamily):
    name = "flux"
    title = "FLUX.1 (dev and schnell)"
    pipelines = (FluxImg2ImgPipeline,)
    twins = {FluxPipeline: FluxImg2ImgPipeline}

    @property
    def distilled(self) -> bool:
        """dev takes the guidance as an input; schnell takes none."""
        return bool(self.pipe.transformer.config.guidance_embeds)

    @property
    def schema_name(self) -> str:
        return "flux-dev" if self.distilled else "flux-schnell"

    def encode_text(self, prompt: str, negative_prompt: str, cfg: bool) -> TextEncoding:
        embeds, pooled, ids = self.pipe.encode_prompt(
            prompt=prompt, prompt_2=None, device=self.device, num_images_per_prompt=1
        )
        return TextEncoding(embeds, pooled, ids)

    def stepper(self, text, schedule, size, settings):
        transformer, image_ids = self.denoiser, self.image_ids(size)
        scale = None
        if self.distilled:
            scale = torch.full([1], settings.guidance, device=self.device, dtype=torch.float32)

        def step(latents, i):
            velocity = transformer(
                hidden_states=self.pack(latents),
                timestep=schedule.timesteps[i].expand(1).to(latents.dtype) / 1000,
                guidance=scale,
                pooled_projections=text.pooled,
                encoder_hidden_states=text.embeds,
                txt_ids=text.ids,
                img_ids=image_ids,
                return_dict=False,
            )[0]
            return self.euler(schedule, i, latents, self.unpack(velocity, size))

        return step
