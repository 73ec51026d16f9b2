"""What an edit reads from and writes to a Krita document, through the krita API only.

Everything is read over the document's canvas as B, G, R, A bytes (or one grey byte a
pixel). A paint layer gives its own pixels; groups, vector, file and clone layers, which
hold none, give their rendered projection. Every buffer's size is checked before use, so
a layer Krita cannot hand out is a message, never stray memory. The user's layers are
never written: a result is a new layer, added in one undoable step once its pixels and
masks are in place; only the exemplars' visibility changes, when Apply is asked to hide
them. Call these on Krita's UI thread.
"""

from . import pixels
from .errors import DocumentError
from .qt import QtCore

# Where an exemplar's edit map comes from (a grey layer is GREY_LAYER + its unique id).
MAP_AUTO = "auto"  # the server ramps from the layer's alpha over `transition` pixels
MAP_MASK = "mask"  # the layer's own transparency or selection mask
MAP_SELECTION = "selection"  # the document's selection
GREY_LAYER = "layer:"

MASK_TYPES = ("transparencymask", "selectionmask")
RESULT_NAME = "PIXELS edit (seed {seed})"


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


def uid(node) -> str:
    """A node's unique id as text (saved in the .kra, so it outlives a session)."""
    return node.uniqueId().toString()


def find(doc, unique_id: str | None):
    """The layer or mask with this unique id, or None."""
    if not unique_id:
        return None
    node = doc.nodeByUniqueID(QtCore.QUuid(unique_id))
    return node if node is not None and node.type() else None


def checked(data, size: int, what: str) -> bytes:
    """Krita's buffer, if it holds `size` bytes; a message otherwise."""
    data = bytes(data)
    if len(data) != size:
        raise DocumentError(
            f"Krita gave {len(data)} bytes for {what} where {size} were expected: it cannot "
            "be read. Convert it to a paint layer (Layer > Convert > to Paint Layer) and "
            "try again."
        )
    return data


def bgra(doc, node, rendered: bool = False) -> bytes:
    """A layer's pixels on the canvas: its own for a paint layer (masks not applied)
    unless `rendered`, its projection (masks applied) for any other layer or when
    `rendered`."""
    if (node.colorModel(), node.colorDepth()) != ("RGBA", "U8"):
        raise DocumentError(
            f"The layer '{node.name()}' is {node.colorModel()} {node.colorDepth()}; PIXELS "
            "reads 8-bit RGBA layers. Convert it with Layer > Convert > Convert Layer "
            "Color Space."
        )
    w, h = doc.width(), doc.height()
    own = node.type() == "paintlayer" and not rendered
    if not own:
        doc.refreshProjection()
        doc.waitForDone()
    data = node.pixelData(0, 0, w, h) if own else node.projectionPixelData(0, 0, w, h)
    return checked(data, w * h * 4, f"the layer '{node.name()}' ({node.type()})")


def exemplar_bgra(doc, node) -> bytes:
    """An exemplar as it looks: rendered, with its masks, and its opacity applied."""
    return pixels.scale_alpha(bgra(doc, node, rendered=True), node.opacity())


def visible_bgra(doc, left_out: list) -> bytes:
    """The visible image without the layers `left_out` (the exemplars), rendered in a
    throwaway copy of the document so that the user's is never touched."""
    w, h = doc.width(), doc.height()
    if not left_out:
        doc.refreshProjection()
        doc.waitForDone()
        return checked(doc.pixelData(0, 0, w, h), w * h * 4, "the visible image")
    copy = doc.clone()
    try:
        for node in left_out:
            twin = find(copy, uid(node))
            if twin is not None:
                twin.remove()
        copy.refreshProjection()
        copy.waitForDone()
        data = checked(copy.pixelData(0, 0, w, h), w * h * 4, "the visible image")
    finally:
        copy.close()
    return data


def selection_grey(doc) -> bytes | None:
    """The active selection, 255 where selected, or None when nothing is selected."""
    selection = doc.selection()
    if selection is None:
        return None
    w, h = doc.width(), doc.height()
    return checked(selection.pixelData(0, 0, w, h), w * h, "the selection")


def mask_of(node):
    """The layer's first transparency or selection mask, or None."""
    return next((c for c in node.childNodes() if c.type() in MASK_TYPES), None)


def edit_map(doc, node, choice: str) -> bytes | None:
    """The exemplar's edit map as `choice` says (MAP_*); None lets the server make it
    from the exemplar's alpha. Masks and selections are opaque where the exemplar goes
    in, so they are inverted; a grey layer is read as the contract says (white keeps,
    black takes, transparent counts as white), through its projection."""
    w, h = doc.width(), doc.height()
    if choice == MAP_AUTO:
        return None
    if choice == MAP_MASK:
        mask = mask_of(node)
        if mask is None:
            raise DocumentError(f"The layer '{node.name()}' has no transparency or selection mask")
        what = f"the mask '{mask.name()}'"
        return pixels.invert(checked(mask.pixelData(0, 0, w, h), w * h, what))
    if choice == MAP_SELECTION:
        grey = selection_grey(doc)
        if grey is None:
            raise DocumentError(f"The map of '{node.name()}' is the selection, but none is made")
        return pixels.invert(grey)
    if choice.startswith(GREY_LAYER):
        layer = find(doc, choice[len(GREY_LAYER) :])
        if layer is None:
            raise DocumentError(f"The grey map layer of '{node.name()}' no longer exists")
        return pixels.grey_over_white(bgra(doc, layer, rendered=True), w, h)
    raise DocumentError(f"Unknown map choice {choice!r} for '{node.name()}'")


def covering(doc, source_id: str | None, exemplar_ids: list) -> list:
    """The exemplar layers that are shown and could cover a result of `source_id`:
    not a group that holds the source (hiding it would hide the result too)."""
    source = find(doc, source_id)
    holders = []
    while source is not None and source.parentNode() is not None:
        source = source.parentNode()
        holders.append(uid(source))
    found = (find(doc, i) for i in exemplar_ids if i not in holders)
    return [n for n in found if n is not None and n.visible()]


def show(doc, nodes: list, shown: bool) -> None:
    for node in nodes:
        node.setVisible(shown)
    doc.refreshProjection()


def add_layer(doc, source_id: str | None, name: str, box: tuple, data: bytes, hide=()):
    """Add a paint layer holding `data` (B, G, R, A) at box = (x, y, width, height),
    directly above the source with its opacity, blend mode, alpha inheritance and a copy
    of its transparency masks, so that the picture changes only where `data` is not
    transparent. For the visible image (or a source that is gone) it goes on top as a
    plain layer. Krita adds it, masks and pixels in place, as one undoable step; the
    layers `hide` are hidden with it (Krita's scripting records no undo step for a
    layer's visibility: the docker shows them again when the layer is undone)."""
    x, y, w, h = box
    layer = doc.createNode(name, "paintlayer")
    layer.setPixelData(data, x, y, w, h)
    source = find(doc, source_id)
    if source is not None and source.parentNode() is not None:
        layer.setOpacity(source.opacity())
        layer.setBlendingMode(source.blendingMode())
        layer.setInheritAlpha(source.inheritAlpha())
        if source.type() == "paintlayer":  # other layers were read with their masks
            for mask in source.childNodes():
                if mask.type() == "transparencymask":
                    layer.addChildNode(mask.duplicate(), None)
        parent, below = source.parentNode(), source
    else:
        parent, below = doc.rootNode(), top_of(doc.rootNode())
    if not parent.addChildNode(layer, below):
        raise DocumentError("Krita refused to add the result layer")
    show(doc, hide, False)
    return layer


def top_of(node):
    children = node.childNodes()
    return children[-1] if children else None
