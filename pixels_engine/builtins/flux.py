"""FLUX.1 built here: a tiny dev-like transformer (guidance as an input) with CLIP-L and
T5 for the tests, the full FLUX.1-dev architecture (configs/flux1-dev) for GPU timing."""

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    FluxImg2ImgPipeline,
    FluxTransformer2DModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, T5Config, T5EncoderModel

from . import parts, tokenizers
from .configs import read

TINY_SEED = 20261129
TINY_VAE = parts.tiny_vae16(scaling=0.3611, shift=0.1159)  # FLUX's
TINY_TRANSFORMER = {
    "patch_size": 1,
    "in_channels": 64,  # 16 channels x 2 x 2 latents a token
    "num_layers": 1,
    "num_single_layers": 1,
    "attention_head_dim": 16,
    "num_attention_heads": 2,
    "joint_attention_dim": 32,
    "pooled_projection_dim": 32,
    "guidance_embeds": True,
    "axes_dims_rope": [4, 4, 8],
}


def tiny_vae_and_scheduler() -> tuple[AutoencoderKL, FlowMatchEulerDiscreteScheduler]:
    """What FLUX and its derivatives share: the VAE and the dynamically shifted schedule."""
    scheduler = read("flux1-dev", "scheduler", "scheduler_config.json")
    return AutoencoderKL.from_config(TINY_VAE), FlowMatchEulerDiscreteScheduler.from_config(
        scheduler
    )


def build(transformer, vae, clip, t5, scheduler, work: Path):
    return FluxImg2ImgPipeline(
        transformer=FluxTransformer2DModel.from_config(transformer),
        scheduler=scheduler,
        vae=vae,
        text_encoder=CLIPTextModel(CLIPTextConfig(**clip, **tokenizers.CLIP_SPECIAL_IDS)),
        tokenizer=tokenizers.clip(work / "clip"),
        text_encoder_2=T5EncoderModel(T5Config(**t5)),
        tokenizer_2=tokenizers.t5(work / "t5"),
    )


def tiny(work: Path):
    torch.manual_seed(TINY_SEED)
    vae, scheduler = tiny_vae_and_scheduler()
    return build(TINY_TRANSFORMER, vae, parts.TINY_CLIP, parts.TINY_T5, scheduler, work)


def full(work: Path):
    """FLUX.1-dev: the 12-billion-parameter transformer, CLIP-L and T5-XXL."""
    scheduler = read("flux1-dev", "scheduler", "scheduler_config.json")
    return build(
        read("flux1-dev", "transformer"),
        AutoencoderKL.from_config(read("flux1-dev", "vae")),
        read("sdxl-base", "text_encoder"),
        read("t5-xxl"),
        FlowMatchEulerDiscreteScheduler.from_config(scheduler),
        work,
    )
