"""The edit that the selected layers describe: which is the source, which are the
exemplars, which maps and which limit apply, read into an EditRequest. Reads only.

One reading, the contract's (schema.MAP_CONVENTION): white keeps, black takes, a map
layer's transparent parts count as white, greys stay greys. Layer masks and the
selection say where an exemplar goes in (white takes) and are inverted into maps. The
selection limits the edit unless it is ignored: outside it counts as white.
"""

from dataclasses import dataclass

import canvas
import layers
from gi.repository import Gimp
from wording import Refused

from pixels_client import EditRequest, Layer, png

EIGHT_BIT = (Gimp.Precision.U8_LINEAR, Gimp.Precision.U8_NON_LINEAR, Gimp.Precision.U8_PERCEPTUAL)


@dataclass
class Scene:
    request: EditRequest
    source: object  # the source layer; None for the visible image
    box: canvas.Box  # the source's canvas in image coordinates
    sent: bytes  # the source's RGBA as sent
    frames: list[str]  # each image sent, named for the user, in the order sent
    selection: object  # the selection when it limits the edit, else None
    tattoos: dict  # the layers it was made from, for the result's record


def quoted(item) -> str:
    return f"'{item.get_name()}'"


def pick_layers(image, drawables, mode: str) -> tuple:
    """(source layer, or None for the visible image; the exemplar layers)."""
    if any(not d.is_layer() for d in drawables):
        raise Refused("Select layers (the source and its exemplars), not channels or masks.")
    if mode == "visible":
        return None, list(drawables)
    if not drawables:
        raise Refused("Select the layer to edit and its exemplar layers.")
    order = [layer.get_id() for layer in layers.stack(image.get_layers())]
    source, exemplars = canvas.split_source([d.get_id() for d in drawables], order)
    return Gimp.Layer.get_by_id(source), [Gimp.Layer.get_by_id(i) for i in exemplars]


def limiting_selection(image, ignore: bool):
    """The selection, when there is one and it is not ignored."""
    if ignore or Gimp.Selection.is_empty(image):
        return None
    return image.get_selection()


def build(image, drawables, values: dict, params: dict, map_drawable, level: int) -> Scene:
    """The request for `params` from the image and the plug-in's inputs (`values`);
    `level` is zlib's for the PNGs (0 on the loopback: fastest)."""
    source, exemplars = pick_layers(image, drawables, values["source"])
    selection = limiting_selection(image, values["ignore-selection"])
    deep = image.get_precision() not in EIGHT_BIT
    if source is None:
        box = canvas.Box(0, 0, image.get_width(), image.get_height())
        sent, where = layers.visible(image, exemplars), "the visible image"
        frames = ["Visible image"]
    else:
        box = canvas.Box(*layers.offsets(source), source.get_width(), source.get_height())
        sent, where = layers.read(source, box, layers.RGBA8), f"the source {quoted(source)}"
        frames = [f"Source {quoted(source)}"]

    def encode(pixels: bytes) -> bytes:
        return png.encode_rgba(box.width, box.height, pixels, level)

    def encode_map(grey: bytes) -> bytes:
        return png.encode_grey(box.width, box.height, grey, 16 if deep else 8, level)

    sent_layers = []
    for layer in exemplars:
        if not box.overlaps(
            canvas.Box(*layers.offsets(layer), layer.get_width(), layer.get_height())
        ):
            raise Refused(
                f"The exemplar {quoted(layer)} lies entirely outside {where}: move it over "
                "the part to change, or leave it out."
            )
        pixels = layers.exemplar(layer, box, selection)
        mask = layer.get_mask() if layer.get_apply_mask() else None
        own = None if mask is None else encode_map(layers.grey_map(mask, box, deep, selection))
        sent_layers.append(Layer(encode(pixels), own))
        frames.append(f"Exemplar {quoted(layer)}")
        if own is not None:
            frames.append(f"The mask of {quoted(layer)}")
    global_map = None
    if values["edit-map"] == "drawable":
        if map_drawable is None:
            raise Refused("Exemplar maps come from the map drawable: choose one (Map drawable).")
        global_map = encode_map(layers.grey_map(map_drawable, box, deep, selection))
        frames.append(f"Map drawable {quoted(map_drawable)}")
    elif not exemplars and selection is not None:
        global_map = encode_map(layers.grey_map(selection, box, deep))
        frames.append("The selection")
    if not exemplars and global_map is None:
        raise Refused(
            "Nothing to edit: select exemplar layers above the source, or make a selection "
            "or choose a map drawable for the prompt to change."
        )
    tattoos = {
        "source": None if source is None else source.get_tattoo(),
        "exemplars": [layer.get_tattoo() for layer in exemplars],
        "map": map_drawable.get_tattoo() if values["edit-map"] == "drawable" else None,
    }
    request = EditRequest(encode(sent), sent_layers, global_map, params)
    return Scene(request, source, box, sent, frames, selection, tattoos)
