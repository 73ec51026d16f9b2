"""Stable Diffusion 3.5 built here: a tiny MMDiT with its three text encoders for the
tests, the full SD3.5-large architecture (configs/sd35-large) for GPU timing."""

from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    FlowMatchEulerDiscreteScheduler,
    SD3Transformer2DModel,
    StableDiffusion3Img2ImgPipeline,
)
from transformers import CLIPTextConfig, CLIPTextModelWithProjection, T5Config, T5EncoderModel

from . import parts, tokenizers
from .configs import read

TINY_SEED = 20261128
TINY_T5 = {**parts.TINY_T5, "d_model": 64, "d_kv": 16}  # both CLIPs' hidden states side by side
TINY_VAE = parts.tiny_vae16(scaling=1.5305, shift=0.0609)  # SD3's
TINY_TRANSFORMER = {
    "sample_size": 64,
    "patch_size": 2,
    "in_channels": 16,
    "out_channels": 16,
    "num_layers": 2,
    "attention_head_dim": 8,
    "num_attention_heads": 4,
    "joint_attention_dim": 64,
    "caption_projection_dim": 32,
    "pooled_projection_dim": 64,
    "pos_embed_max_size": 96,
    "qk_norm": "rms_norm",
}


def build(transformer, vae, clip_l, clip_g, t5, scheduler, seed: int, work: Path):
    torch.manual_seed(seed)
    clip = tokenizers.clip(work / "clip")
    special = tokenizers.CLIP_SPECIAL_IDS
    return StableDiffusion3Img2ImgPipeline(
        transformer=SD3Transformer2DModel.from_config(transformer),
        scheduler=FlowMatchEulerDiscreteScheduler.from_config(scheduler),
        vae=AutoencoderKL.from_config(vae),
        text_encoder=CLIPTextModelWithProjection(CLIPTextConfig(**clip_l, **special)),
        tokenizer=clip,
        text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**clip_g, **special)),
        tokenizer_2=clip,
        text_encoder_3=T5EncoderModel(T5Config(**t5)),
        tokenizer_3=tokenizers.t5(work / "t5"),
    )


def tiny(work: Path):
    scheduler = read("sd35-large", "scheduler", "scheduler_config.json")
    return build(
        TINY_TRANSFORMER,
        TINY_VAE,
        parts.TINY_CLIP,
        parts.TINY_CLIP,
        TINY_T5,
        scheduler,
        TINY_SEED,
        work,
    )


def full(work: Path):
    """SD3.5 large: the 8-billion-parameter MMDiT, CLIP-L, CLIP-G and T5-XXL."""
    return build(
        read("sd35-large", "transformer"),
        read("sd35-large", "vae"),
        read("sdxl-base", "text_encoder"),
        read("sdxl-base", "text_encoder_2"),
        read("t5-xxl"),
        read("sd35-large", "scheduler", "scheduler_config.json"),
        0,
        work,
    )
