"""The SD 1.x/2.x family (one text encoder, no added conditioning) through the same path:
a tiny SD-layout pipeline with random weights is saved as a diffusers folder and loaded
by path, as a user's own checkpoint would be. v-prediction (SD 2.x 768) included."""

import numpy as np
import pytest
import torch
from diffusers import (
    AutoencoderKL,
    PNDMScheduler,
    StableDiffusionImg2ImgPipeline,
    StableDiffusionPipeline,
    UNet2DConditionModel,
)
from transformers import CLIPTextConfig, CLIPTextModel

from pixels_cli import samples
from pixels_engine import Editor, EditSettings, load_model
from pixels_engine.builtins import tokenizers
from pixels_engine.builtins.sdxl import TINY_TEXT, TINY_VAE
from pixels_engine.editor import resolve_maps


def tiny_sd_folder(folder, prediction_type):
    torch.manual_seed(0)
    unet = UNet2DConditionModel(
        sample_size=32,
        block_out_channels=(32, 64),
        layers_per_block=1,
        down_block_types=("DownBlock2D", "CrossAttnDownBlock2D"),
        up_block_types=("CrossAttnUpBlock2D", "UpBlock2D"),
        cross_attention_dim=32,
        attention_head_dim=4,
        norm_num_groups=8,
    )
    pipe = StableDiffusionPipeline(
        vae=AutoencoderKL.from_config(TINY_VAE),
        text_encoder=CLIPTextModel(CLIPTextConfig(**TINY_TEXT, **tokenizers.CLIP_SPECIAL_IDS)),
        tokenizer=tokenizers.clip(folder / "tokenizer-src"),
        unet=unet,
        scheduler=PNDMScheduler(prediction_type=prediction_type, skip_prk_steps=True),
        safety_checker=None,
        feature_extractor=None,
        requires_safety_checker=False,
    )
    pipe.save_pretrained(folder / "model")
    return folder / "model"


@pytest.mark.parametrize("prediction_type", ["epsilon", "v_prediction"])
def test_sd_layout_checkpoint_edits_with_kept_pixels_identical(tmp_path, prediction_type):
    model = load_model(str(tiny_sd_folder(tmp_path, prediction_type)), device="cpu")
    assert isinstance(model.pipe, StableDiffusionImg2ImgPipeline) and not model.family.is_sdxl
    assert model.native_size == 256
    source, exemplars = samples.scene(128)
    settings = EditSettings(steps=6, strength=0.5, seed=3, prompt="a lake")
    result = Editor(model).edit(source, exemplars, settings)
    assert result.working_size == (256, 256) and result.steps_run == 3
    assert np.isfinite(result.image).all()
    changed = (result.image != source).any(-1)
    assert changed[exemplars[0].map == 0].mean() > 0.9
    kept = np.minimum.reduce(resolve_maps(exemplars, None, settings)) == 1
    assert np.array_equal(result.image[kept], source[kept])
