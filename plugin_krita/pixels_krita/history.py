"""The docker's last results, newest first, kept in memory so a user can compare, apply
a result again (a fresh layer) or discard it. The result is kept as the server's PNG:
lossless and compact."""

from dataclasses import dataclass, field

from .params import Params

LIMIT = 12


@dataclass
class Entry:
    png: bytes  # the edited canvas, RGBA PNG
    seed: int
    params: Params  # with `seed` fixed: these settings reproduce the result
    document: object  # the krita Document it was made for
    source_id: object  # unique id of the source layer, None for the visible image
    thumbnail: object = field(default=None, compare=False)  # set by the UI


class History:
    def __init__(self, limit: int = LIMIT):
        self.limit = limit
        self.entries: list[Entry] = []

    def add(self, entry: Entry) -> None:
        self.entries.insert(0, entry)
        del self.entries[self.limit :]

    def discard(self, index: int) -> Entry:
        return self.entries.pop(index)

    def __getitem__(self, index: int) -> Entry:
        return self.entries[index]

    def __len__(self) -> int:
        return len(self.entries)
