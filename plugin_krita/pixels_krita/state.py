"""What the docker keeps for each open document, Krita- and Qt-free: its history and
settings (read from the document), the message and preview last shown for it, and the
exemplars that its applied results hid; and the seed the docker offers.

Messages belong to a document: an edit of one image reports into that image's state, so
another image never shows its progress or its "Done".
"""

import random
from dataclasses import dataclass, field

from pixels_contract import schema


@dataclass
class Note:
    """A message of the docker's, kept with the document it is about."""

    text: str = ""
    failed: bool = False


@dataclass
class Hidden:
    """The exemplars hidden with a result layer (schema.HIDE_EXEMPLARS). Krita's
    scripting records no undo step for a layer's visibility, so they follow the layer:
    shown again when it is undone or deleted, hidden again when it is redone."""

    exemplars: list = field(default_factory=list)  # the layer ids hidden
    present: bool = True  # whether the result layer was in the document when last seen


class DocState:
    """One open document as the docker holds it."""

    def __init__(self, doc, history, settings: dict):
        self.doc, self.history, self.settings = doc, history, settings
        self.ticked = set(settings.get("ticked", []))
        self.maps = dict(settings.get("maps", {}))
        self.preview = None  # the image last shown for this document
        self.note = Note()
        self.hidden: dict[str, Hidden] = {}  # by result layer id

    def follow_results(self, present: set) -> tuple[list, list]:
        """The exemplar ids to show again (their result layer is gone) and to hide again
        (it is back), given the ids of the result layers in the document now."""
        show, hide = [], []
        for layer_id, hidden in self.hidden.items():
            now = layer_id in present
            if now != hidden.present:
                (hide if now else show).extend(hidden.exemplars)
                hidden.present = now
        return show, hide


def fresh_seed() -> int:
    """The seed put into an empty seed field when Random is unticked: a new one, shown,
    so that Generate has one to use and the artist sees which."""
    return random.randint(schema.SEED_MIN, schema.SEED_MAX)
