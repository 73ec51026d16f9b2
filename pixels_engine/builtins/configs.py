"""The published configurations in pixels_engine/configs, read as keyword arguments."""

import json
from pathlib import Path

from .tokenizers import CLIP_SPECIAL_IDS

FOLDER = Path(__file__).parent.parent / "configs"


def read(*parts: str) -> dict:
    """configs/PART/.../config.json (or the file named last), without the keys that
    describe the file rather than the model."""
    path = FOLDER.joinpath(*parts)
    if path.suffix != ".json":
        path = path / "config.json"
    config = json.loads(path.read_text())
    drop = {"architectures", "model_type", *CLIP_SPECIAL_IDS}
    return {k: v for k, v in config.items() if not k.startswith("_") and k not in drop}
