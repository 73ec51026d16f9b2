"""Models the project builds itself: SDXL architecture, seeded random weights.

No weights can be downloaded where this project is developed and tested, so the code
that runs SDXL is exercised on pipelines built here from configs:

- ``tiny``: the SDXL layout (two text encoders, text-time conditioning, 8x VAE) at a
  tiny width, saved to a cache folder and loaded back with ``from_pretrained`` exactly
  like a downloaded checkpoint. Fast on a CPU.
- ``sdxl-random``: the full SDXL-base architecture from the published configs in
  ``configs/sdxl-base``, for timing and memory on a GPU.

Their output is noise-like: they prove the pipeline runs, not that edits look right.
"""

import json
import os
import tempfile
from pathlib import Path

import torch
from diffusers import (
    AutoencoderKL,
    EulerDiscreteScheduler,
    StableDiffusionXLImg2ImgPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel, CLIPTextModelWithProjection, CLIPTokenizer

SDXL_CONFIGS = Path(__file__).parent / "configs" / "sdxl-base"
TINY_VERSION = "tiny-sdxl-v1"
TINY_SEED = 20240617
RANDOM_MARKER = "RANDOM_WEIGHTS.txt"  # in a model folder: its weights are not trained

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
    "sample_size": 512,
    "in_channels": 3,
    "out_channels": 3,
    "latent_channels": 4,
    "block_out_channels": [8, 16, 32, 32],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "scaling_factor": 0.13025,
    "force_upcast": False,
}
TINY_TEXT = {
    "vocab_size": 1000,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 77,
    "projection_dim": 32,
    "hidden_act": "gelu",
}
# The ids of the ASCII tokenizer's special tokens: CLIP pools the text at the eos token.
SPECIAL_IDS = {"bos_token_id": 188, "eos_token_id": 189, "pad_token_id": 189}


def cache_dir() -> Path:
    """Where built models live: $PIXELS_CACHE, else ~/.cache/pixels."""
    return Path(os.environ.get("PIXELS_CACHE") or Path.home() / ".cache" / "pixels")


def ascii_tokenizer(folder: Path) -> CLIPTokenizer:
    """A CLIP tokenizer over printable ASCII characters (the real BPE vocabulary is not
    available offline); it yields 77 ids like CLIP's, which is all a random model needs."""
    folder.mkdir(parents=True, exist_ok=True)
    chars = [chr(c) for c in range(33, 127)]
    vocab = {token: i for i, token in enumerate(chars + [c + "</w>" for c in chars])}
    vocab["<|startoftext|>"] = len(vocab)
    vocab["<|endoftext|>"] = len(vocab)
    assert vocab["<|endoftext|>"] == SPECIAL_IDS["eos_token_id"]
    (folder / "vocab.json").write_text(json.dumps(vocab))
    (folder / "merges.txt").write_text("#version: 0.2\n")
    return CLIPTokenizer.from_pretrained(folder, model_max_length=77)


def build_sdxl(
    unet: dict, vae: dict, text: dict, text_2: dict, scheduler: dict, seed: int, work: Path
):
    """An SDXL img2img pipeline with seeded random weights from the given configs."""
    torch.manual_seed(seed)
    tokenizer = ascii_tokenizer(work / "tokenizer")
    return StableDiffusionXLImg2ImgPipeline(
        vae=AutoencoderKL.from_config(vae),
        text_encoder=CLIPTextModel(CLIPTextConfig(**text, **SPECIAL_IDS)),
        text_encoder_2=CLIPTextModelWithProjection(CLIPTextConfig(**text_2, **SPECIAL_IDS)),
        tokenizer=tokenizer,
        tokenizer_2=tokenizer,
        unet=UNet2DConditionModel.from_config(unet),
        scheduler=EulerDiscreteScheduler.from_config(scheduler),
        requires_aesthetics_score=False,
        force_zeros_for_empty_prompt=True,
    )


def sdxl_configs() -> dict:
    """The published SDXL-base configs shipped in this package."""

    def read(part: str, name: str = "config.json") -> dict:
        config = json.loads((SDXL_CONFIGS / part / name).read_text())
        drop = {"architectures", *SPECIAL_IDS}
        return {k: v for k, v in config.items() if not k.startswith("_") and k not in drop}

    return {
        "unet": read("unet"),
        "vae": read("vae"),
        "text": read("text_encoder"),
        "text_2": read("text_encoder_2"),
        "scheduler": read("scheduler", "scheduler_config.json"),
    }


def tiny_folder() -> Path:
    """The tiny pipeline's folder, built and saved on first use (atomically, so two
    processes starting at once never see half a model)."""
    target = cache_dir() / "models" / TINY_VERSION
    if (target / "model_index.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        work = Path(tmp)
        scheduler = sdxl_configs()["scheduler"]
        pipe = build_sdxl(TINY_UNET, TINY_VAE, TINY_TEXT, TINY_TEXT, scheduler, TINY_SEED, work)
        pipe.save_pretrained(work / "model", safe_serialization=True)
        (work / "model" / RANDOM_MARKER).write_text(
            "Seeded random weights built by pixels_engine; not a trained model.\n"
        )
        try:
            os.rename(work / "model", target)
        except OSError:
            if not (target / "model_index.json").exists():
                raise
    return target


def sdxl_random(device: torch.device, dtype: torch.dtype):
    """The full SDXL-base architecture with random weights, built on `device` (about 7 GB
    in fp16), never written to disk."""
    c = sdxl_configs()
    with tempfile.TemporaryDirectory() as tmp, torch.device(device):
        pipe = build_sdxl(c["unet"], c["vae"], c["text"], c["text_2"], c["scheduler"], 0, Path(tmp))
    return pipe.to(device=device, dtype=dtype)
