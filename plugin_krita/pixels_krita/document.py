"""What an edit reads from and writes to a Krita document, with the krita API only.

Everything lives on the document's canvas: the source, each exemplar (transparent where
it is empty) and each edit map are read over the document's bounds. Krita cannot undo a
plug-in's pixel writes, so an edit never writes into an existing layer: its result goes
into a new layer above the source, added in one step once its pixels are ready.
Call these on Krita's UI thread.
"""

from dataclasses import dataclass

from . import pixels
from .params import GREY_LAYER, MAP_AUTO, MAP_MASK, MAP_SELECTION

MASK_TYPES = ("transparencymask", "selectionmask")
RESULT_NAME = "PIXELS edit (seed {seed})"


class DocumentError(Exception):
    """The document cannot be edited as asked; the message tells the user why."""


@dataclass
class Exemplar:
    name: str
    rgba: bytes
    map: bytes | None  # grey, one byte per pixel, white keeps the source; None: auto


@dataclass
class Inputs:
    """Everything an edit sends, read from the document at one moment."""

    width: int
    height: int
    source: bytes  # RGBA
    exemplars: list[Exemplar]
    source_id: object  # the source layer's unique id; None for the visible image


def check_format(doc) -> None:
    if (doc.colorModel(), doc.colorDepth()) != ("RGBA", "U8"):
        raise DocumentError(
            f"PIXELS edits 8-bit RGBA images; this one is {doc.colorModel()} "
            f"{doc.colorDepth()}. Convert it with Image > Convert Image Color Space."
        )


def layers(doc) -> list[tuple[object, int]]:
    """Every layer (no masks) with its depth, top of the stack first, as the Layers
    docker lists them."""
    out = []

    def walk(nodes, depth):
        for node in reversed(nodes):
            if node.type().endswith("layer"):
                out.append((node, depth))
                walk(node.childNodes(), depth + 1)

    walk(doc.topLevelNodes(), 0)
    return out


def rgba_of(doc, node) -> bytes:
    """A layer's own pixels (its masks not applied) on the document canvas."""
    return pixels.swap_red_blue(bytes(node.pixelData(0, 0, doc.width(), doc.height())))


def visible_rgba(doc) -> bytes:
    """The visible image: the document's projection."""
    doc.refreshProjection()
    doc.waitForDone()
    return pixels.swap_red_blue(bytes(doc.pixelData(0, 0, doc.width(), doc.height())))


def mask_of(node):
    """The layer's first transparency or selection mask, or None."""
    return next((c for c in node.childNodes() if c.type() in MASK_TYPES), None)


def edit_map(doc, node, choice: str) -> bytes | None:
    """The exemplar's edit map as `choice` says (params.MAP_*); None lets the server
    make it from the exemplar's alpha. Masks and selections are opaque where the
    exemplar goes in, so they are inverted: a map is black where it takes the exemplar."""
    w, h = doc.width(), doc.height()
    if choice == MAP_AUTO:
        return None
    if choice == MAP_MASK:
        mask = mask_of(node)
        if mask is None:
            raise DocumentError(f"layer '{node.name()}' has no transparency or selection mask")
        return pixels.invert(bytes(mask.pixelData(0, 0, w, h)))
    if choice == MAP_SELECTION:
        selection = doc.selection()
        if selection is None:
            raise DocumentError(f"the map of '{node.name()}' is the selection, but none is made")
        return pixels.invert(bytes(selection.pixelData(0, 0, w, h)))
    if choice.startswith(GREY_LAYER):
        grey = find(doc, choice[len(GREY_LAYER) :])
        if grey is None:
            raise DocumentError(f"the grey map layer of '{node.name()}' no longer exists")
        return pixels.grey_over_white(bytes(grey.pixelData(0, 0, w, h)), w, h)
    raise ValueError(f"unknown map choice {choice!r}")


def find(doc, unique_id: str):
    """The layer with this unique id (as str), or None."""
    return next((n for n, _ in layers(doc) if str(n.uniqueId()) == unique_id), None)


def read_inputs(doc, source, exemplars: list[tuple[object, str]]) -> Inputs:
    """The source (a layer, or None for the visible image) and the exemplars, each a
    (layer, map choice) pair."""
    check_format(doc)
    if not exemplars:
        raise DocumentError("tick at least one exemplar layer")
    source_rgba = visible_rgba(doc) if source is None else rgba_of(doc, source)
    items = [Exemplar(n.name(), rgba_of(doc, n), edit_map(doc, n, c)) for n, c in exemplars]
    source_id = None if source is None else source.uniqueId()
    return Inputs(doc.width(), doc.height(), source_rgba, items, source_id)


def insert_result(doc, source_id, rgba: bytes, seed: int):
    """Add the edited canvas as a new layer above the source layer (at the top for the
    visible image, or when the source is gone) and return it. The layer gets its pixels
    before it joins the document; if adding fails, the document is as it was."""
    w, h = doc.width(), doc.height()
    if len(rgba) != w * h * 4:
        raise DocumentError("the document's size changed during the edit; run it again")
    layer = doc.createNode(RESULT_NAME.format(seed=seed), "paintlayer")
    layer.setPixelData(pixels.swap_red_blue(rgba), 0, 0, w, h)
    source = None if source_id is None else doc.nodeByUniqueID(source_id)
    if source is not None and source.parentNode() is not None:
        parent, below = source.parentNode(), source
    else:
        parent, below = doc.rootNode(), top_of(doc.rootNode())
    if not parent.addChildNode(layer, below):
        raise DocumentError("Krita refused to add the result layer")
    doc.refreshProjection()
    return layer


def top_of(node):
    children = node.childNodes()
    return children[-1] if children else None
