"""Chroma built here: a tiny transformer of its layout (FLUX's blocks, a modulation
approximator instead of CLIP and guidance inputs) with T5, for the tests."""

from pathlib import Path

import torch
from diffusers import ChromaImg2ImgPipeline, ChromaTransformer2DModel
from transformers import T5Config, T5EncoderModel

from . import parts, tokenizers
from .flux import tiny_vae_and_scheduler

TINY_SEED = 20261130
TINY_TRANSFORMER = {
    "patch_size": 1,
    "in_channels": 64,
    "num_layers": 1,
    "num_single_layers": 1,
    "attention_head_dim": 16,
    "num_attention_heads": 2,
    "joint_attention_dim": 32,
    "axes_dims_rope": [4, 4, 8],
    "approximator_hidden_dim": 32,
    "approximator_layers": 1,
    "approximator_num_channels": 16,
}


def tiny(work: Path):
    torch.manual_seed(TINY_SEED)
    vae, scheduler = tiny_vae_and_scheduler()
    return ChromaImg2ImgPipeline(
        scheduler=scheduler,
        vae=vae,
        text_encoder=T5EncoderModel(T5Config(**parts.TINY_T5)),
        tokenizer=tokenizers.t5(work / "t5"),
        transformer=ChromaTransformer2DModel.from_config(TINY_TRANSFORMER),
        image_encoder=None,
        feature_extractor=None,
    )
