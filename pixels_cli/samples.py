"""Sample layers drawn in code (no files to download): a room, a lake seen through the
window, a rug on the floor. Used by the demo, the tests and the benchmarks."""

from pathlib import Path

import numpy as np

from pixels_engine import Exemplar
from pixels_engine.images import save_image


def grid(size: int):
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    return y, x


def room(size: int = 512) -> np.ndarray:
    """A warm wall, a wooden floor and a pale window, as RGBA float32."""
    y, x = grid(size)
    wall = np.stack([0.80 - 0.1 * y, 0.72 - 0.1 * y, 0.60 - 0.08 * y], axis=-1)
    boards = 0.5 + 0.5 * np.sin(x * 90.0 + 3.0 * np.sin(y * 7.0))
    floor = np.stack([0.45 + 0.08 * boards, 0.30 + 0.05 * boards, 0.18 + 0.03 * boards], axis=-1)
    rgb = np.where((y > 0.62)[..., None], floor, wall)
    window = (np.abs(x - 0.3) < 0.17) & (np.abs(y - 0.3) < 0.2)
    rgb[window] = [0.85, 0.9, 0.95]
    return np.dstack([rgb, np.ones_like(y)]).astype(np.float32)


def lake(size: int = 512) -> np.ndarray:
    """Blue rippled water filling the window, transparent elsewhere."""
    y, x = grid(size)
    ripples = 0.5 + 0.5 * np.sin(y * 120.0 + 4.0 * np.sin(x * 25.0))
    rgb = np.stack([0.1 + 0.1 * ripples, 0.35 + 0.15 * ripples, 0.6 + 0.2 * ripples], axis=-1)
    inside = (np.abs(x - 0.3) < 0.16) & (np.abs(y - 0.3) < 0.19)
    return np.dstack([rgb, inside.astype(np.float32)]).astype(np.float32)


def lake_map(size: int = 512) -> np.ndarray:
    """Black on the water, a soft grey frame where the window meets the wall."""
    y, x = grid(size)
    d = np.maximum(np.abs(x - 0.3) - 0.16, np.abs(y - 0.3) - 0.19)
    return np.clip(d / 0.06 + 0.15, 0.0, 1.0).astype(np.float32) * (d > 0)


def rug(size: int = 512) -> np.ndarray:
    """A red and gold striped oval on the floor; its map comes from its alpha."""
    y, x = grid(size)
    stripes = (np.sin(x * 80.0) > 0).astype(np.float32)
    rgb = np.stack([0.7 + 0.2 * stripes, 0.15 + 0.55 * stripes, 0.1 + 0.1 * stripes], axis=-1)
    oval = ((x - 0.65) / 0.25) ** 2 + ((y - 0.82) / 0.12) ** 2 < 1.0
    return np.dstack([rgb, oval.astype(np.float32)]).astype(np.float32)


def scene(size: int = 512) -> tuple[np.ndarray, list[Exemplar]]:
    """The demo's source and its two exemplars (lake with a map, rug without)."""
    return room(size), [Exemplar(lake(size), lake_map(size)), Exemplar(rug(size))]


def save_scene(folder: Path, size: int = 512) -> dict:
    """The scene written as layer files in `folder` (source.png, lake.png, lake-map.png,
    rug.png); returns them as a batch manifest's line names them."""
    source, (lake, rug) = scene(size)
    files = {"source": source, "lake": lake.image, "lake-map": lake.map, "rug": rug.image}
    for name, array in files.items():
        save_image(array, Path(folder) / f"{name}.png")
    exemplars = [{"image": "lake.png", "map": "lake-map.png"}, {"image": "rug.png"}]
    return {"source": "source.png", "exemplars": exemplars}
