"""The tiny parts that several tiny builds share: a CLIP text encoder, a T5 encoder and
a VAE's blocks, at widths that run in moments on a CPU."""

from . import tokenizers

TINY_CLIP = {
    "vocab_size": 1000,
    "hidden_size": 32,
    "intermediate_size": 64,
    "num_hidden_layers": 2,
    "num_attention_heads": 4,
    "max_position_embeddings": 77,
    "projection_dim": 32,
    "hidden_act": "gelu",
}
TINY_T5 = {
    "vocab_size": tokenizers.T5_VOCAB,
    "d_model": 32,
    "d_ff": 64,
    "d_kv": 8,
    "num_heads": 4,
    "num_layers": 2,
    "feed_forward_proj": "gated-gelu",
}


# A VAE's blocks: four (the real 8x stride), narrow.
TINY_VAE_BLOCKS = {
    "block_out_channels": [8, 16, 32, 32],
    "down_block_types": ["DownEncoderBlock2D"] * 4,
    "up_block_types": ["UpDecoderBlock2D"] * 4,
    "layers_per_block": 1,
    "norm_num_groups": 8,
    "sample_size": 512,
}


def tiny_vae16(scaling: float, shift: float) -> dict:
    """The flow families' VAE: 16 latent channels, the family's shift and scale."""
    return {
        **TINY_VAE_BLOCKS,
        "latent_channels": 16,
        "scaling_factor": scaling,
        "shift_factor": shift,
        "use_quant_conv": False,
        "use_post_quant_conv": False,
    }
