"""The edit that the selected layers describe: which is the source, which are the
exemplars, which maps and which limit apply, read into an EditRequest. Reads only.

One reading, the contract's (schema.MAP_CONVENTION): white keeps, black takes, a map
layer's transparent parts count as white, greys stay greys. Layer masks and the
selection say where an exemplar goes in (white takes) and are inverted into maps. The
selection limits the edit unless it is ignored, by the contract's rule
(schema.SELECTION_RULE): every map sent is limited by it, the map the server would make
from an exemplar's alpha included (`own_maps`).
"""

from dataclasses import dataclass

import canvas
import layers
from gi.repository import Gimp
from wording import Refused

from pixels_client import EditRequest, Layer, png
from pixels_contract import schema

EIGHT_BIT = (Gimp.Precision.U8_LINEAR, Gimp.Precision.U8_NON_LINEAR, Gimp.Precision.U8_PERCEPTUAL)


@dataclass
class Scene:
    request: EditRequest
    source: object  # the source layer; None for the visible image
    box: canvas.Box  # the source's canvas in image coordinates
    sent: bytes  # the source's RGBA as sent
    frames: list[str]  # each image sent, named for the user, in the order sent
    exemplars: list  # the exemplar layers
    reader: "Reader"  # how its images were read (the selection that limits it, if any)
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


@dataclass(frozen=True)
class Reader:
    """Drawables read onto one canvas as the request's PNGs (`level`: zlib's, 0 on the
    loopback, where storing is fastest)."""

    box: canvas.Box
    deep: bool
    level: int
    selection: object  # the selection when it limits the edit

    def rgba(self, pixels: bytes) -> bytes:
        return png.encode_rgba(self.box.width, self.box.height, pixels, self.level)

    def grey_png(self, grey: bytes) -> bytes:
        depth = 16 if self.deep else 8
        return png.encode_grey(self.box.width, self.box.height, grey, depth, self.level)

    def grey(self, drawable, limited: bool = True) -> bytes:
        selection = self.selection if limited else None
        return self.grey_png(layers.grey_map(drawable, self.box, self.deep, selection))

    def limit(self, grey: bytes) -> bytes:
        """An 8-bit map on the canvas, limited by the selection, as a PNG."""
        depth = 16 if self.deep else 8
        return self.grey_png(layers.limited(grey, self.box, self.selection, 8, depth))

    def exemplar(self, layer, where: str) -> tuple[Layer, list[str]]:
        """The exemplar (with its mask's map, if it has one on) and the frames' names."""
        bounds = canvas.Box(*layers.offsets(layer), layer.get_width(), layer.get_height())
        if not self.box.overlaps(bounds):
            raise Refused(
                f"The exemplar {quoted(layer)} lies entirely outside {where}: move it over "
                "the part to change, or leave it out."
            )
        image = self.rgba(layers.exemplar(layer, self.box))
        if layer.get_mask() is None or not layer.get_apply_mask():
            return Layer(image), [f"Exemplar {quoted(layer)}"]
        own = self.grey(layer.get_mask())
        return Layer(image, own), [f"Exemplar {quoted(layer)}", f"The mask of {quoted(layer)}"]


def global_map(reader: Reader, values: dict, exemplars: list) -> tuple:
    """(the global map's PNG and its frame's name) or (None, None): the map drawable when
    chosen, else the selection for an edit without exemplars."""
    map_drawable = values["map-drawable"]
    if values["edit-map"] == "drawable":
        if map_drawable is None:
            raise Refused("Exemplar maps come from the map drawable: choose one (Map drawable).")
        return reader.grey(map_drawable), f"Map drawable {quoted(map_drawable)}"
    if not exemplars and reader.selection is not None:
        return reader.grey(reader.selection, limited=False), "The selection"
    if not exemplars:
        raise Refused(
            "Nothing to edit: select exemplar layers above the source, or make a selection "
            "or choose a map drawable for the prompt to change."
        )
    return None, None


def build(image, drawables, values: dict, params: dict, level: int) -> Scene:
    """The request from the image and the plug-in's inputs (`values`), carrying `params`
    as the arguments give them (remote.checked completes and checks them once the
    serving model is known, before they are sent)."""
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
    reader = Reader(box, deep, level, selection)
    sent_layers = []
    for layer in exemplars:
        read, names = reader.exemplar(layer, where)
        sent_layers.append(read)
        frames += names
    grey, name = global_map(reader, values, exemplars)
    frames += [name] if name else []
    tattoos = {
        "source": None if source is None else source.get_tattoo(),
        "exemplars": [layer.get_tattoo() for layer in exemplars],
        "map": values["map-drawable"].get_tattoo() if values["edit-map"] == "drawable" else None,
    }
    request = EditRequest(reader.rgba(sent), sent_layers, grey, params)
    return Scene(request, source, box, sent, frames, exemplars, reader, tattoos)


def own_maps(made: Scene, map_of) -> None:
    """Under a limiting selection, give each exemplar that takes its map from its alpha
    that map as its own, limited like every other map: `map_of(request)` is the server's
    map (8-bit PNG) for a request of the exemplar alone with the map tools off, since
    they act on every map after the limit."""
    selection, request = made.reader.selection, made.request
    if selection is None or request.global_map is not None:
        return
    params = {**request.params, **{n: schema.BY_NAME[n].default for n in schema.MAP_TOOLS}}
    at = 1  # the frame of the exemplar
    for layer, drawable in zip(request.exemplars, made.exemplars, strict=True):
        if layer.map is None:
            alone = EditRequest(request.source, [Layer(layer.image)], None, params)
            layer.map = made.reader.limit(png.decode(map_of(alone))[2][0::4])
            made.frames.insert(at + 1, f"The map of {quoted(drawable)} in the selection")
        at += 2 if layer.map is not None else 1
