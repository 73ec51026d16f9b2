"""A batch manifest: one edit a line (JSON Lines), every line checked against the edit
contract before any work, so that a bad line is reported with its number and field and
the good ones still run.

    {"id": "a", "source": "room.png", "exemplars": [{"image": "lake.png", "map": "m.png"}],
     "map": "global.png", "seed": 7, "steps": 30, "strength": 0.6}

`id` names the result (OUT/ID.png); `source`, `exemplars` and the optional global `map`
are paths relative to the manifest; every other key is an edit parameter under its
schema name.
"""

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from pixels_contract import schema

LAYOUT = ("id", "source", "exemplars", "map")  # the keys that are not edit parameters
ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")  # a file name on every system


@dataclass
class Item:
    line: int
    id: str
    source: Path
    exemplars: list[tuple[Path, Path | None]]
    global_map: Path | None
    params: dict  # as given: the model's family fills the rest

    def files(self) -> list[Path]:
        maps = [m for _, m in self.exemplars if m is not None]
        images = [image for image, _ in self.exemplars]
        return [self.source, *images, *maps, *([self.global_map] if self.global_map else [])]

    def key(self, model: str) -> str:
        """What makes a result this item's: the model, the parameters and the bytes of
        every input. An output carrying the same key needs no new edit."""
        digest = hashlib.sha256(json.dumps([model, self.params], sort_keys=True).encode())
        for path in self.files():
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        return digest.hexdigest()


@dataclass
class Failure:
    """A line that cannot run, or an item whose edit failed."""

    line: int
    id: str | None
    field: str | None
    message: str


@dataclass
class Manifest:
    items: list[Item] = field(default_factory=list)
    failures: list[Failure] = field(default_factory=list)


class LineError(ValueError):
    def __init__(self, field: str | None, message: str):
        super().__init__(message)
        self.field = field


def read(path: Path) -> Manifest:
    """Every line of the manifest checked: the good ones as items, the bad ones as
    failures naming their line and field. Blank lines are skipped."""
    manifest, seen = Manifest(), set()
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not text.strip():
            continue
        raw, ident = None, None
        try:
            raw = json.loads(text)
            if not isinstance(raw, dict):
                raise LineError(None, "a line must be a JSON object")
            ident = raw.get("id") if isinstance(raw.get("id"), str) else None
            item = check(raw, number, path.parent)
            if item.id in seen:
                raise LineError("id", f"{item.id!r} is the id of an earlier line")
            seen.add(item.id)
            manifest.items.append(item)
        except json.JSONDecodeError as e:
            manifest.failures.append(Failure(number, None, None, f"not JSON: {e}"))
        except LineError as e:
            manifest.failures.append(Failure(number, ident, e.field, str(e)))
    return manifest


def check(raw: dict, number: int, folder: Path) -> Item:
    ident = raw.get("id")
    if not isinstance(ident, str) or not ID.fullmatch(ident):
        raise LineError(
            "id", "give an id of letters, digits, '.', '_' or '-' (it names the result)"
        )
    source = existing(raw.get("source"), folder, "source")
    entries = raw.get("exemplars", [])
    if not isinstance(entries, list):
        raise LineError("exemplars", 'must be a list of {"image": PATH, "map": PATH}')
    exemplars = []
    for k, entry in enumerate(entries):
        if not isinstance(entry, dict) or set(entry) - {"image", "map"}:
            raise LineError(
                f"exemplars[{k}]", 'must be {"image": PATH} or {"image": PATH, "map": PATH}'
            )
        image = existing(entry.get("image"), folder, f"exemplars[{k}].image")
        m = existing(entry["map"], folder, f"exemplars[{k}].map") if "map" in entry else None
        exemplars.append((image, m))
    global_map = existing(raw["map"], folder, "map") if "map" in raw else None
    if not exemplars and global_map is None:
        raise LineError("exemplars", "nothing to edit: give an exemplar, or a global map")
    params = {k: v for k, v in raw.items() if k not in LAYOUT}
    try:
        schema.parse(params)
    except schema.Invalid as e:
        raise LineError(e.field, e.text) from None
    return Item(number, ident, source, exemplars, global_map, params)


def existing(value: object, folder: Path, field: str) -> Path:
    if not isinstance(value, str) or not value:
        raise LineError(field, "must be the path of an image file")
    path = (folder / value).resolve()
    if not path.is_file():
        raise LineError(field, f"no file {value} (paths are relative to the manifest)")
    return path
