"""The model names a user can give, without loading anything (the CLI's help and the
server's /v1/models list them)."""

ALIASES = {  # the real checkpoints, on the Hugging Face Hub
    "sdxl": "stabilityai/stable-diffusion-xl-base-1.0",
    "sdxl-refiner": "stabilityai/stable-diffusion-xl-refiner-1.0",
    "sd15": "stable-diffusion-v1-5/stable-diffusion-v1-5",
    "sd21": "stabilityai/stable-diffusion-2-1",
    "sd35-medium": "stabilityai/stable-diffusion-3.5-medium",
    "sd35-large": "stabilityai/stable-diffusion-3.5-large",
    "flux-dev": "black-forest-labs/FLUX.1-dev",
    "flux-schnell": "black-forest-labs/FLUX.1-schnell",
    "chroma": "lodestones/Chroma1-HD",
    "kandinsky3": "kandinsky-community/kandinsky-3",
}
BUILTIN = (  # built here with random weights: pixels_engine/builtins
    "tiny", "tiny-sd3", "tiny-flux", "tiny-chroma", "tiny-kandinsky",
    "sdxl-random", "sd35-random", "flux-random",
)  # fmt: skip
FAMILY = {  # each name's model family in the edit contract (schema.FAMILIES), before loading
    **dict.fromkeys(("sdxl", "sdxl-refiner", "sd15", "sd21", "tiny", "sdxl-random"), "sd"),
    **dict.fromkeys(("sd35-medium", "sd35-large", "tiny-sd3", "sd35-random"), "sd3"),
    **dict.fromkeys(("flux-dev", "tiny-flux", "flux-random"), "flux-dev"),
    "flux-schnell": "flux-schnell",
    **dict.fromkeys(("chroma", "tiny-chroma"), "chroma"),
    **dict.fromkeys(("kandinsky3", "tiny-kandinsky"), "kandinsky3"),
}
DEVICES = ("auto", "cuda", "mps", "cpu")
DTYPES = ("auto", "fp32", "fp16", "bf16")
COMPILE_MODES = ("off", "blocks", "full")
