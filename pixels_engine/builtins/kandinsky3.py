"""Kandinsky 3 built here: a tiny UNet of its layout, a MoVQ with the real 8x stride and
a T5 encoder, on Kandinsky 3's DDPM schedule, for the tests."""

from pathlib import Path

import torch
from diffusers import DDPMScheduler, Kandinsky3Img2ImgPipeline, Kandinsky3UNet, VQModel
from transformers import T5Config, T5EncoderModel

from . import parts, tokenizers

TINY_SEED = 20261131
TINY_UNET = {
    "in_channels": 4,
    "time_embedding_dim": 4,
    "groups": 2,
    "attention_head_dim": 4,
    "layers_per_block": 2,  # Kandinsky3UNet cannot be built with 1
    "block_out_channels": (32, 64),
    "cross_attention_dim": 4,
    "encoder_hid_dim": 32,
}
TINY_MOVQ = {  # four blocks: the real 8x stride; spatially normalised like the real one
    "block_out_channels": [32, 32, 32, 64],  # spatial norm takes groups of 32
    "down_block_types": ["DownEncoderBlock2D"] * 3 + ["AttnDownEncoderBlock2D"],
    "up_block_types": ["AttnUpDecoderBlock2D"] + ["UpDecoderBlock2D"] * 3,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "norm_type": "spatial",
    "num_vq_embeddings": 64,
    "vq_embed_dim": 4,
}
SCHEDULER = {  # Kandinsky 3's own
    "beta_schedule": "linear",
    "beta_start": 0.00085,
    "beta_end": 0.012,
    "clip_sample": False,
    "num_train_timesteps": 1000,
    "prediction_type": "epsilon",
    "steps_offset": 1,
    "thresholding": False,
}


def tiny(work: Path):
    torch.manual_seed(TINY_SEED)
    return Kandinsky3Img2ImgPipeline(
        tokenizer=tokenizers.t5(work / "t5"),
        text_encoder=T5EncoderModel(T5Config(**parts.TINY_T5)),
        unet=Kandinsky3UNet.from_config(TINY_UNET),
        scheduler=DDPMScheduler.from_config(SCHEDULER),
        movq=VQModel.from_config(TINY_MOVQ),
    )
