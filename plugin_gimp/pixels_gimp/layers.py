"""GIMP's drawables as the edit's images on the source's canvas, and the results written
back as a layer or a channel.

Per-pixel work (opacity, compositing a map layer over white, inverting masks, the
selection's limit) is done by GEGL in this process, on graphs placed in image
coordinates; Python only moves whole buffers. GEGL's operations are loaded by `init`.
"""

import canvas
from gi.repository import Gegl, Gimp

RGBA8 = "R'G'B'A u8"  # primed: sRGB-encoded, what the server's PNGs hold
MAP_NAME = "PIXELS edit map"
ABOVE_ZERO = 2.0**-126  # gegl:threshold's level (it keeps >=): the least positive normal float


def init() -> None:
    """Load GEGL's operations into this plug-in process (libgimp does not)."""
    Gegl.init(None)


def offsets(item) -> tuple[int, int]:
    _, x, y = item.get_offsets()
    return x, y


def grey_format(perceptual: bool, deep: bool) -> str:
    """Layers are read as the grey the user sees (Y'); channels and masks are stored
    linear and read as stored (Y)."""
    return ("Y'" if perceptual else "Y") + f" u{16 if deep else 8}"


class Graph:
    """A GEGL graph whose drawables sit at their image offsets."""

    def __init__(self):
        self.root = Gegl.Node()

    def op(self, name: str, *inputs, **properties):
        """A new `name` node fed by `inputs` (input, then aux), with `properties`."""
        node = self.root.create_child(name)
        for key, value in properties.items():
            node.set_property(key, value)
        for pad, source in zip(("input", "aux"), inputs, strict=False):
            source.connect_to("output", node, pad)
        return node

    def buffer(self, buffer, x: int = 0, y: int = 0):
        node = self.op("gegl:buffer-source", buffer=buffer)
        return self.op("gegl:translate", node, x=float(x), y=float(y)) if x or y else node

    def drawable(self, drawable, shift: tuple[int, int] = (0, 0)):
        """The drawable (a group: its projection) at its offsets, moved by `shift`."""
        x, y = offsets(drawable)
        return self.buffer(drawable.get_buffer(), x + shift[0], y + shift[1])

    def white_under(self, node):
        """`node` composited over white: its transparent parts, and everywhere it does
        not reach, count as white."""
        white = self.op("gegl:color", value=Gegl.Color.new("white"))
        return self.op("gegl:over", white, node)

    def limit_map(self, node, selection):
        """A map that is white outside the selection: 1 - (1 - map) x selection."""
        taken = self.op("gegl:invert-linear", node)
        inside = self.op("gegl:multiply", taken, self.drawable(selection))
        return self.op("gegl:invert-linear", inside)

    def render(self, node, box: canvas.Box, fmt: str) -> bytes:
        out = Gegl.Buffer.new(fmt, box.x, box.y, box.width, box.height)
        self.write(node, box, out)
        area = Gegl.Rectangle.new(box.x, box.y, box.width, box.height)
        return bytes(out.get(area, 1.0, fmt, Gegl.AbyssPolicy.NONE))

    def write(self, node, box: canvas.Box, buffer) -> None:
        """Process `node` over `box` into `buffer` (crop first: a colour is infinite)."""
        rect = {"x": box.x, "y": box.y, "width": box.width, "height": box.height}
        crop = self.op("gegl:crop", node, **{k: float(v) for k, v in rect.items()})
        self.op("gegl:write-buffer", crop, buffer=buffer).process()


def read(drawable, box: canvas.Box, fmt: str) -> bytes:
    """The drawable's own pixels on the canvas, transparent (zero) where it does not reach."""
    rect = canvas.local_rect(box, *offsets(drawable))
    area = Gegl.Rectangle.new(*rect)
    return bytes(drawable.get_buffer().get(area, 1.0, fmt, Gegl.AbyssPolicy.NONE))


def exemplar(layer, box: canvas.Box) -> bytes:
    """An exemplar on the canvas as RGBA bytes, with its opacity (a layer at 50 % is sent
    half transparent). The selection limits its map, not its pixels."""
    opacity = layer.get_opacity() / 100.0
    if opacity >= 1.0:
        return read(layer, box, RGBA8)
    graph = Graph()
    node = graph.op("gegl:opacity", graph.drawable(layer), value=opacity)
    return graph.render(node, box, RGBA8)


def grey_map(drawable, box: canvas.Box, deep: bool, selection=None) -> bytes:
    """The protocol's map (white keeps) from a drawable, as grey bytes (16-bit big-endian
    when `deep`). A layer mask or the selection says where the exemplar goes in (white
    takes), so it is inverted; a channel or a layer is read as a map, a layer composited
    over white by its alpha (soft strokes stay soft greys, erased parts keep). Then the
    `selection`, when one limits the edit, limits it (`limited`)."""
    graph = Graph()
    node = graph.drawable(drawable)
    if drawable.is_layer_mask() or drawable.is_selection():
        node = graph.op("gegl:invert-linear", node)
    grey = graph.render(graph.white_under(node), box, grey_format(drawable.is_layer(), deep))
    depth = 16 if deep else 8
    if selection is not None:
        return limited(grey, box, selection, depth, depth)
    return canvas.big_endian_u16(grey) if deep else grey


def limited(grey: bytes, box: canvas.Box, selection, depth: int, out: int) -> bytes:
    """A map on the canvas (`depth`-bit grey bytes, the machine's order) limited by the
    selection, 1 - (1 - map) x selection on the values sent (schema.SELECTION_RULE), as
    the protocol's `out`-bit bytes."""
    staged = Gegl.Buffer.new(f"Y u{depth}", box.x, box.y, box.width, box.height)
    staged.set(Gegl.Rectangle.new(box.x, box.y, box.width, box.height), f"Y u{depth}", grey)
    graph = Graph()
    node = graph.limit_map(graph.buffer(staged), selection)
    grey = graph.render(node, box, f"Y u{out}")
    return canvas.big_endian_u16(grey) if out == 16 else grey


def selected(selection, box: canvas.Box, rect) -> bytes:
    """Per pixel of `rect` (x, y, width, height on the canvas `box`): 255 where the
    selection is above 0, 0 elsewhere, the canvas beyond the image included."""
    x, y, w, h = rect
    graph = Graph()
    node = graph.op("gegl:threshold", graph.drawable(selection), value=ABOVE_ZERO)
    return graph.render(node, canvas.Box(box.x + x, box.y + y, w, h), "Y u8")


def visible(image, hidden: list) -> bytes:
    """The visible image without the `hidden` layers, as RGBA bytes: read from a
    duplicate (whose layer stack matches the image's), so the image itself never changes."""
    ids = {layer.get_id() for layer in hidden}
    copy = image.duplicate()
    try:
        copy.undo_disable()
        for original, duplicate in zip(
            stack(image.get_layers()), stack(copy.get_layers()), strict=True
        ):
            if original.get_id() in ids:
                duplicate.set_visible(False)
        flat = Gimp.Layer.new_from_visible(copy, copy, "visible")
        copy.insert_layer(flat, None, 0)
        return read(flat, canvas.Box(0, 0, image.get_width(), image.get_height()), RGBA8)
    finally:
        copy.delete()


def stack(layers) -> list:
    """`layers` and everything inside them, top to bottom."""
    out = []
    for layer in layers:
        out.append(layer)
        if layer.is_group():
            out += stack(layer.get_children())
    return out


def add_result(image, source, box: canvas.Box, rect, pixels: bytes, name: str):
    """The result layer, directly above the source (on top for the visible image): only
    the edited pixels (`pixels`, the RGBA of `rect` in canvas coordinates, transparent
    where nothing changed), with the source's mode, opacity, composite settings and a
    copy of its mask, so the picture changes nowhere else. Call inside an undo group."""
    grey = image.get_base_type() == Gimp.ImageBaseType.GRAY
    kind = Gimp.ImageType.GRAYA_IMAGE if grey else Gimp.ImageType.RGBA_IMAGE
    layer = Gimp.Layer.new(image, name, box.width, box.height, kind, 100.0, Gimp.LayerMode.NORMAL)
    if source is None:
        image.insert_layer(layer, None, 0)
    else:
        image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
    layer.set_offsets(box.x, box.y)
    if source is not None:
        composite_like(layer, source)
    buffer = layer.get_buffer()
    x, y, w, h = rect
    buffer.set(Gegl.Rectangle.new(x, y, w, h), RGBA8, pixels)
    buffer.flush()
    layer.update(x, y, w, h)
    return layer


def composite_like(layer, source) -> None:
    """Give `layer` the way `source` is composited: mode, opacity, spaces, and its mask."""
    mode = source.get_mode()
    layer.set_mode(Gimp.LayerMode.NORMAL if mode == Gimp.LayerMode.PASS_THROUGH else mode)
    layer.set_blend_space(source.get_blend_space())
    layer.set_composite_space(source.get_composite_space())
    layer.set_composite_mode(source.get_composite_mode())
    layer.set_opacity(source.get_opacity())
    mask = source.get_mask()
    if mask is None:
        return
    copy = layer.create_mask(Gimp.AddMaskType.WHITE)
    layer.add_mask(copy)
    whole = Gegl.Rectangle.new(0, 0, source.get_width(), source.get_height())
    target = copy.get_buffer()
    mask.get_buffer().copy(whole, Gegl.AbyssPolicy.NONE, target, whole)
    target.flush()
    copy.update(0, 0, source.get_width(), source.get_height())
    layer.set_apply_mask(source.get_apply_mask())


def add_map(image, box: canvas.Box, grey: bytes) -> None:
    """The edit map as the hidden channel MAP_NAME (white keeps; white beyond the
    canvas), in place of the one an earlier Show Edit Map added; the selected layers
    stay selected. Call inside an undo group."""
    selected = image.get_selected_layers()
    earlier = image.get_channel_by_name(MAP_NAME)
    if earlier is not None:
        image.remove_channel(earlier)
    width, height = image.get_width(), image.get_height()
    channel = Gimp.Channel.new(image, MAP_NAME, width, height, 50.0, Gegl.Color.new("black"))
    image.insert_channel(channel, None, 0)
    channel.set_visible(False)
    channel.fill(Gimp.FillType.WHITE)
    x0, y0 = max(box.x, 0), max(box.y, 0)
    x1, y1 = min(box.x + box.width, width), min(box.y + box.height, height)
    if x1 > x0 and y1 > y0:
        rect = (x0 - box.x, y0 - box.y, x1 - x0, y1 - y0)
        buffer = channel.get_buffer()
        buffer.set(
            Gegl.Rectangle.new(x0, y0, x1 - x0, y1 - y0),
            "Y u8",
            canvas.crop(grey, box.width, rect, 1),
        )
        buffer.flush()
        channel.update(x0, y0, x1 - x0, y1 - y0)
    if selected:
        image.set_selected_layers(selected)
