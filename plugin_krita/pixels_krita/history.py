"""A document's results, newest first, each with the recipe that made it.

Generating fills the history; the artist applies the result they like as a layer, takes
its settings back into the docker, or runs it again. A document keeps its own history
inside itself (store.py writes it into the .kra), so results survive a save and never
mix between documents. Each result is the result layer's pixels, lossless and cropped
to the area the edit changed, so a small edit on a large canvas stays small. They are
kept raw (B, G, R, A): nothing to encode or decode between a result and its layer, and
the .kra deflates them when it is saved. Standard library only.
"""

import io
import json
import zipfile
from dataclasses import dataclass, field

from pixels_contract import schema

LIMIT = 12  # results kept per document
BUDGET = 64 * 2**20  # bytes of results kept per document (they are saved in the .kra)
INDEX = "index.json"
FORMAT = 2  # 1 held PNGs


@dataclass(frozen=True)
class Recipe:
    """What an edit read and how: enough to show its settings and to run it again."""

    params: dict  # schema names and values; after a result, its seed is fixed
    source: str | None  # the source layer's unique id; None: the visible image
    exemplars: tuple = ()  # (layer unique id, map choice) pairs
    use_selection: bool = True  # the active selection limits the edit

    def with_seed(self, seed: int) -> "Recipe":
        return Recipe(
            {**self.params, "seed": seed}, self.source, self.exemplars, self.use_selection
        )

    def to_json(self) -> dict:
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in self.params.items()}
        exemplars = [list(pair) for pair in self.exemplars]
        return {
            "params": params,
            "source": self.source,
            "exemplars": exemplars,
            "use_selection": self.use_selection,
        }

    @classmethod
    def from_json(cls, data: dict) -> "Recipe":
        exemplars = tuple((str(i), str(c)) for i, c in data.get("exemplars", []))
        source = data.get("source")
        return cls(
            dict(data.get("params", {})),
            None if source is None else str(source),
            exemplars,
            bool(data.get("use_selection", True)),
        )

    def summary(self) -> str:
        """The settings that differ from the schema's defaults, in the docker's words."""
        parts = []
        for param in schema.PARAMS:
            value = self.params.get(param.name, param.default)
            value = tuple(value) if isinstance(value, list) else value
            if param.name == "seed" or value == param.default:
                continue
            if param.kind == schema.BOOLEAN:
                parts.append(param.label if value else f"not {param.label.lower()}")
                continue
            if param.kind == schema.TEXT:
                text = f'"{value}"'
            elif param.kind == schema.RANGE:
                text = " to ".join(f"{v:g}" for v in value)
            else:
                text = str(dict(param.choices).get(value, value))
            parts.append(f"{param.label} {text}")
        return ", ".join(parts) or "default settings"


@dataclass
class Entry:
    """One result: the recipe (seed fixed) and the result layer's pixels."""

    recipe: Recipe
    box: tuple  # x, y, width, height of the pixels on the canvas
    bgra: bytes  # the result layer's pixels there (transparent where nothing changed)
    thumbnail: object = field(default=None, compare=False)  # set by the docker

    @property
    def seed(self) -> int:
        return self.recipe.params["seed"]


class History:
    def __init__(self, limit: int = LIMIT, budget: int = BUDGET):
        self.limit, self.budget = limit, budget
        self.entries: list[Entry] = []

    def add(self, entry: Entry) -> None:
        """Newest first; the oldest go once there are more than `limit` or they weigh
        more than `budget` bytes (the newest always stays)."""
        self.entries.insert(0, entry)
        del self.entries[self.limit :]
        total = 0
        for i, e in enumerate(self.entries):
            total += len(e.bgra)
            if total > self.budget and i > 0:
                del self.entries[i:]
                break

    def discard(self, index: int) -> Entry:
        return self.entries.pop(index)

    def __getitem__(self, index: int) -> Entry:
        return self.entries[index]

    def __len__(self) -> int:
        return len(self.entries)

    def to_bytes(self) -> bytes:
        """A zip of the pixels and an index, stored: the .kra deflates it when saved."""
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as z:
            index = []
            for i, e in enumerate(self.entries):
                name = f"{i}.bgra"
                z.writestr(name, e.bgra)
                index.append({"recipe": e.recipe.to_json(), "box": list(e.box), "bgra": name})
            z.writestr(INDEX, json.dumps({"format": FORMAT, "entries": index}))
        return out.getvalue()

    @classmethod
    def from_bytes(cls, data: bytes) -> "History":
        """The history `to_bytes` wrote; an unreadable one (a newer plug-in's, a damaged
        file) is empty rather than an error that would stop the docker."""
        history = cls()
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as z:
                index = json.loads(z.read(INDEX))
                if index.get("format") != FORMAT:
                    return history
                for item in index["entries"]:
                    recipe = Recipe.from_json(item["recipe"])
                    entry = Entry(recipe, tuple(item["box"]), z.read(item["bgra"]))
                    history.entries.append(entry)
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError):
            return cls()
        return history
