"""SDXL built here: the tiny layout for the tests, the full SDXL-base architecture
(the published configs in configs/sdxl-base) for GPU timing; random weights."""

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionXLImg2ImgPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection

from . import parts, tokenizers
from .configs import read

TINY_SEED = 20240617

TINY_UNET = {
    "sample_size": 64,
    "in_channels": 4,
    "out_channels": 4,
    "block_out_channels": [32, 64, 128],
    "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
    "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
    "layers_per_block": 1,
    "transformer_layers_per_block": [1, 1, 1],
    "attention_head_dim": [2, 4, 8],
    "norm_num_groups": 8,
    "cross_attention_dim": 64,
    "use_linear_projection": True,
    "addition_embed_type": "text_time",
    "addition_time_embed_dim": 8,
    "projection_class_embeddings_input_dim": 80,
}
TINY_VAE = {
    **parts.TINY_VAE_BLOCKS,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "scaling_factor": 0.13025,
    "force_upcast": False,
}
TINY_TEXT = parts.TINY_CLIP


def build_sdxl(
    unet: dict, vae: dict, text: dict, text_2: dict, scheduler: dict, seed: int, work: Path
):
    """An SDXL img2img pipeline with seeded random weights from the given configs."""
    torch.manual_seed(seed)
    tokenizer = tokenizers.clip(work / "tokenizer")
    return StableDiffusionXLImg2ImgPipeline(
        vae=AutoencoderKL.from_config(vae),
        text_encoder=CLIPTextModel(CLIPTextConfig(**text, **tokenizers.CLIP_SPECIAL_IDS)),
        text_encoder_2=CLIPTextModelWithProjection(
            CLIPTextConfig(**text_2, **tokenizers.CLIP_SPECIAL_IDS)
        ),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=UNet2DConditionModel.from_config(unet),
        scheduler=EulerDiscreteScheduler.from_config(scheduler),
        requires_aesthetics_score=False,
        force_zeros_for_empty_prompt=True,
    )


def sdxl_configs() -> dict:
    """The published SDXL-base configs shipped in this package."""
    return {
        "unet": read("sdxl-base", "unet"),
        "vae": read("sdxl-base", "vae"),
        "text": read("sdxl-base", "text_encoder"),
        "text_2": read("sdxl-base", "text_encoder_2"),
        "scheduler": read("sdxl-base", "scheduler", "scheduler_config.json"),
    }


def tiny(work: Path):
    """The SDXL layout (two text encoders, text-time conditioning, 8x VAE) at a tiny
    width: a 512 x 512 canvas edits in a few seconds on a CPU."""
    scheduler = sdxl_configs()["scheduler"]
    return build_sdxl(TINY_UNET, TINY_VAE, TINY_TEXT, TINY_TEXT, scheduler, TINY_SEED, work)


def full(work: Path):
    """The full SDXL-base architecture (about 7 GB in fp16)."""
    c = sdxl_configs()
    return build_sdxl(c["unet"], c["vae"], c["text"], c["text_2"], c["scheduler"], 0, work)
