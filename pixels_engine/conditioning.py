"""Prompt conditioning for the two UNet families PIXELS runs on.

SD 1.x/2.x condition on one text encoder's hidden states. SDXL also takes a pooled
text embedding and "time ids" (original size, crop, target size; the refiner swaps the
target size for an aesthetic score). Both use the pipeline's own `encode_prompt`.
"""

from dataclasses import dataclass

import torch

# The refiner's conditioning, as SDXL's authors used it.
AESTHETIC_SCORE, NEGATIVE_AESTHETIC_SCORE = 6.0, 2.5


@dataclass
class TextEncoding:
    """Encoded prompts, [negative; positive] when classifier-free guidance is on."""

    embeds: torch.Tensor
    pooled: torch.Tensor | None  # SDXL only


def encode_text(model, prompt: str, negative_prompt: str, guided: bool) -> TextEncoding:
    pipe = model.pipe
    # SDXL zeroes an empty negative prompt when given None (force_zeros_for_empty_prompt).
    negative = negative_prompt or None
    with torch.no_grad():
        if model.is_sdxl:
            embeds, neg, pooled, neg_pooled = pipe.encode_prompt(
                prompt=prompt,
                device=model.device,
                num_images_per_prompt=1,
                do_classifier_free_guidance=guided,
                negative_prompt=negative,
            )
            if guided:
                return TextEncoding(torch.cat([neg, embeds]), torch.cat([neg_pooled, pooled]))
            return TextEncoding(embeds, pooled)
        embeds, neg = pipe.encode_prompt(
            prompt=prompt,
            device=model.device,
            num_images_per_prompt=1,
            do_classifier_free_guidance=guided,
            negative_prompt=negative,
        )
        return TextEncoding(torch.cat([neg, embeds]) if guided else embeds, None)


def unet_kwargs(model, text: TextEncoding, height: int, width: int, guided: bool) -> dict:
    """The keyword arguments the UNet takes besides the latents and timestep."""
    kwargs = {"encoder_hidden_states": text.embeds}
    if model.is_sdxl:
        size_crop = [height, width, 0, 0]
        if model.pipe.config.requires_aesthetics_score:
            ids, neg_ids = size_crop + [AESTHETIC_SCORE], size_crop + [NEGATIVE_AESTHETIC_SCORE]
        else:
            ids = neg_ids = size_crop + [height, width]
        time_ids = torch.tensor([neg_ids, ids] if guided else [ids], dtype=text.embeds.dtype)
        kwargs["added_cond_kwargs"] = {
            "text_embeds": text.pooled,
            "time_ids": time_ids.to(model.device),
        }
    return kwargs
