"""Chroma: FLUX.1-schnell's transformer re-trained without its CLIP input and its
guidance distillation, so FLUX's packing and schedule with a T5 attention mask, a
negative prompt and true classifier-free guidance (two calls a step). What a FLUX
derivative costs the seam: this file."""

from diffusers import ChromaImg2ImgPipeline, ChromaPipeline

from .base import register
from .flux import PackedFlowFamily, TextEncoding


@register
class Chroma(PackedFlowFamily):
    name = "chroma"
    title = "Chroma"
    pipelines = (ChromaImg2ImgPipeline,)
    twins = {ChromaPipeline: ChromaImg2ImgPipeline}

    def encode_text(self, prompt: str, negative_prompt: str, cfg: bool):
        embeds, ids, mask, negative, negative_ids, negative_mask = self.pipe.encode_prompt(
            prompt=prompt,
            negative_prompt=negative_prompt,
            do_classifier_free_guidance=cfg,
            device=self.device,
            num_images_per_prompt=1,
        )
        positive = TextEncoding(embeds, None, ids, mask)
        return positive, None if negative is None else TextEncoding(
            negative, None, negative_ids, negative_mask
        )

    def stepper(self, text, schedule, size, settings):
        transformer, image_ids = self.denoiser, self.image_ids(size)
        width, height = size
        tokens = (width // self.cell) * (height // self.cell)
        positive, negative = text

        def call(latents, i, prompt: TextEncoding):
            mask = self.pipe._prepare_attention_mask(1, tokens, latents.dtype, prompt.mask)
            return transformer(
                hidden_states=self.pack(latents),
                timestep=schedule.timesteps[i].expand(1) / 1000,
                encoder_hidden_states=prompt.embeds,
                txt_ids=prompt.ids,
                img_ids=image_ids,
                attention_mask=mask,
                return_dict=False,
            )[0]

        def step(latents, i):
            velocity = call(latents, i, positive)
            if negative is not None:
                uncond = call(latents, i, negative)
                velocity = uncond + settings.guidance * (velocity - uncond)
            return self.euler(schedule, i, latents, self.unpack(velocity, size))

        return step
