"""One manifest item edited and written, the same on this machine and on a Ray worker.

The result is written atomically (a temporary file beside it, then a rename) and carries
its item's key in a PNG text chunk: a rerun, or a retried task whose first attempt had
written it, finds the same key and writes nothing again.
"""

import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from PIL import Image, PngImagePlugin

from pixels_contract import schema
from pixels_engine.errors import PixelsError
from pixels_engine.images import load_grey, load_rgba, to_uint8

from .manifest import Item

KEY = "pixels-key"  # the PNG text chunk holding an output's key


@dataclass
class Record:
    """One line of report.jsonl."""

    line: int
    id: str | None
    status: str  # done, skipped (already there), failed
    output: str | None = None
    seed: int | None = None
    timings: dict | None = None
    field: str | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


def output(item: Item, out: Path) -> Path:
    """Where `item`'s result goes: OUT/ID.png."""
    return out / f"{item.id}.png"


def temporary(target: Path, pid: int | str) -> Path:
    """The name process `pid` writes `target` under before the rename ("*": any)."""
    return target.with_name(f".{target.name}.{pid}.tmp")


def leftovers(item: Item, out: Path) -> list[Path]:
    """Temporary files of `item`'s result that a killed run left behind."""
    return list(out.glob(temporary(output(item, out), "*").name))


def edit_item(editor, item: Item, out: Path) -> Record:
    """Edit `item` with `editor` and write OUT/ID.png, unless it is there already."""
    from pixels_engine import EditSettings, Exemplar

    target = output(item, out)
    began = time.perf_counter()
    try:
        key = item.key(editor.model.name)
        if written_key(target) == key:
            return Record(item.line, item.id, "skipped", str(target))
        params = schema.parse(item.params, editor.model.family.schema_name)
        source = load_rgba(item.source, "source")
        exemplars = [
            Exemplar(load_rgba(image, f"exemplar {k}"), load_grey(m, f"map {k}") if m else None)
            for k, (image, m) in enumerate(item.exemplars, start=1)
        ]
        global_map = load_grey(item.global_map, "map") if item.global_map else None
        result = editor.edit(source, exemplars, EditSettings(**params), global_map)
        write(to_uint8(result.image), target, key)
    except schema.Invalid as e:
        return Record(item.line, item.id, "failed", field=e.field, error=e.text)
    except (PixelsError, OSError) as e:
        return Record(item.line, item.id, "failed", error=str(e))
    timings = {**result.timings, "item": time.perf_counter() - began}
    timings = {k: round(v, 4) for k, v in timings.items()}
    return Record(item.line, item.id, "done", str(target), result.seed, timings)


def written_key(target: Path) -> str | None:
    """The key an existing output was written with, if it is there and readable."""
    try:
        with Image.open(target) as image:
            return image.text.get(KEY)
    except (OSError, ValueError):
        return None


def write(pixels, target: Path, key: str) -> None:
    """A PNG written whole or not at all: to a temporary name, synced, then renamed."""
    info = PngImagePlugin.PngInfo()
    info.add_text(KEY, key)
    partial = temporary(target, os.getpid())
    try:
        with open(partial, "wb") as f:
            Image.fromarray(pixels).save(f, format="PNG", pnginfo=info)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
