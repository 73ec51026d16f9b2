"""Reading and writing images as float arrays in [0, 1] (PIL and numpy only: the CLI
reads files with these without loading torch).

The engine works on RGBA float32 arrays (H x W x 4) and grey maps (H x W). Converting
8-bit values to float and back is exact, which is what lets kept pixels come out
bit-identical to the source.
"""

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .errors import PixelsError

MAX_PIXELS = 64_000_000  # larger files are refused as decompression bombs
Image.MAX_IMAGE_PIXELS = MAX_PIXELS


def open_image(path: str | Path, role: str) -> Image.Image:
    """Open an image file, with an error that names `role` ("source", "map 2", ...)."""
    path = Path(path)
    if not path.is_file():
        raise PixelsError(f"{role} file not found: {path}. Check the path.")
    try:
        image = Image.open(path)
        image.load()
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError, ValueError) as e:
        raise PixelsError(
            f"cannot read {role} {path} as an image ({e}). Use a PNG, JPEG, TIFF or WebP file."
        ) from None
    return image


def to_rgba(image: Image.Image) -> np.ndarray:
    """RGBA float32; 16-bit files keep their precision."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        grey = np.asarray(image, dtype=np.float32) / 65535.0
        return np.dstack([grey, grey, grey, np.ones_like(grey)])
    return np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0


def to_grey(image: Image.Image) -> np.ndarray:
    """A grey map as float32; colour maps are reduced to their luminance."""
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(image, dtype=np.float32) / 65535.0
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def load_rgba(path: str | Path, role: str) -> np.ndarray:
    return to_rgba(open_image(path, role))


def load_grey(path: str | Path, role: str) -> np.ndarray:
    return to_grey(open_image(path, role))


def to_uint8(array: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(array * 255.0), 0, 255).astype(np.uint8)


def save_image(array: np.ndarray, path: str | Path) -> None:
    """Write an RGBA or grey float array as an 8-bit image (format from the suffix)."""
    path = Path(path)
    if path.parent and not path.parent.exists():
        raise PixelsError(f"cannot write {path}: folder {path.parent} does not exist.")
    image = Image.fromarray(to_uint8(array))
    if path.suffix.lower() in (".jpg", ".jpeg"):
        image = image.convert("RGB")
    try:
        image.save(path)
    except (OSError, ValueError) as e:
        raise PixelsError(
            f"cannot write {path} ({e}). Use a .png, .jpg, .tif or .webp name."
        ) from None
