"""One edit, from the document to the server and back.

`read` takes what a recipe names from the document at one moment (the selection limits
it as schema.SELECTION_RULE says); `request` is what the server gets, the maps the
server makes from alpha first asked of it under a selection (`own_maps`); `content` is the
result layer's pixels: the edited pixels, opaque where the server changed the source,
fully transparent everywhere else, so that the picture changes only where the edit is;
`apply` adds them as a layer that remembers its recipe, hiding the exemplars on request.
"""

from dataclasses import dataclass

from pixels_client import EditRequest, Layer
from pixels_contract import schema

from . import document, pixels, store
from .errors import DocumentError
from .history import Entry, Recipe


@dataclass
class Exemplar:
    name: str
    bgra: bytes  # as it looks: rendered, opacity applied (never cut by the selection)
    map: bytes | None  # grey, white keeps the source; None: the server ramps from alpha


@dataclass
class Inputs:
    """Everything an edit sends, read from the document at one moment."""

    width: int
    height: int
    source: bytes  # B, G, R, A as sent: the result is compared with it
    source_name: str
    exemplars: list[Exemplar]
    selection: bytes | None  # 255 where selected; None: the edit is not limited

    def frames(self) -> tuple:
        """The request's images in order, as errors name them."""
        names = [self.source_name]
        for e in self.exemplars:
            names.append(f"the exemplar '{e.name}'")
            if e.map is not None:
                names.append(f"the edit map of '{e.name}'")
        return tuple(names)


def read(doc, recipe: Recipe) -> Inputs:
    """The source, the exemplars and their maps that `recipe` names. DocumentError says
    what cannot be read, or an exemplar that would change nothing."""
    document.check_format(doc)
    if not recipe.exemplars:
        raise DocumentError("Tick at least one exemplar layer.")
    w, h = doc.width(), doc.height()
    nodes = []
    for layer_id, choice in recipe.exemplars:
        node = document.find(doc, layer_id)
        if node is None:
            raise DocumentError("A ticked exemplar layer no longer exists: tick it again.")
        nodes.append((node, choice))
    selection = document.selection_grey(doc) if recipe.use_selection else None
    if recipe.source is None:
        source, source_name = document.visible_bgra(doc, [n for n, _ in nodes]), "the image"
    else:
        node = document.find(doc, recipe.source)
        if node is None:
            raise DocumentError("The source layer of these settings no longer exists.")
        source, source_name = document.bgra(doc, node), f"the layer '{node.name()}'"
    exemplars = [exemplar(doc, node, choice, selection) for node, choice in nodes]
    for e in exemplars:
        check_covers(e, source, source_name, selection)
    return Inputs(w, h, source, source_name, exemplars, selection)


def exemplar(doc, node, choice: str, selection: bytes | None) -> Exemplar:
    """An exemplar and its map, the map limited by the selection if there is one as
    schema.SELECTION_RULE says (white outside, softened where the selection is soft); a
    map the server makes from alpha is limited once asked of it (`own_maps`)."""
    bgra = document.exemplar_bgra(doc, node)
    grey = document.edit_map(doc, node, choice)
    if selection is not None and grey is not None:
        grey = pixels.limit(grey, selection, doc.width(), doc.height())
    return Exemplar(node.name(), bgra, grey)


def check_covers(e: Exemplar, source: bytes, source_name: str, selection: bytes | None) -> None:
    """Refuse an exemplar that cannot change a visible pixel of the source (inside the
    selection, which limits every map)."""
    where = pixels.both(pixels.nonzero(pixels.alpha(e.bgra)), pixels.nonzero(pixels.alpha(source)))
    if e.map is not None:
        where = pixels.both(where, pixels.nonzero(pixels.invert(e.map)))
    if selection is not None:
        where = pixels.both(where, pixels.nonzero(selection))
    if not pixels.any_set(where):
        inside = " inside the selection" if selection is not None else ""
        raise DocumentError(
            f"The exemplar '{e.name}' covers nothing of {source_name}{inside}: move it over "
            "the picture, or check its edit map."
        )


def request(inputs: Inputs, params: dict, level: int = 1, family=None, map_of=None) -> EditRequest:
    """The edit request; `params` are checked by the schema for the model's family first
    (schema.Invalid names the parameter), `level` is the PNGs' zlib level (0 for a
    server on this machine). `map_of(request)`, the server's Result of a map request,
    completes the maps under a selection (`own_maps`); it waits on the server, so the
    docker calls this off the UI thread."""
    w, h = inputs.width, inputs.height
    values = wire(params, family)
    source = pixels.encode_png(inputs.source, w, h, level)
    images = [pixels.encode_png(e.bgra, w, h, level) for e in inputs.exemplars]
    if map_of is not None:
        own_maps(inputs, source, images, values, map_of)
    layers = [
        Layer(image, None if e.map is None else pixels.encode_grey(e.map, w, h, level))
        for e, image in zip(inputs.exemplars, images, strict=True)
    ]
    return EditRequest(source, layers, params=values)


def own_maps(inputs: Inputs, source: bytes, images: list, params: dict, map_of) -> None:
    """Under a selection, give each exemplar whose map the server makes from its alpha
    that map as its own, limited like every other map (schema.SELECTION_RULE): the
    server's map for the source and that exemplar alone (PNGs as sent), with the map
    tools off, since they act on every map after the limit."""
    if inputs.selection is None:
        return
    params = {**params, **{n: schema.BY_NAME[n].default for n in schema.MAP_TOOLS}}
    for e, image in zip(inputs.exemplars, images, strict=True):
        if e.map is None:
            alone = EditRequest(source, [Layer(image)], params=params)
            grey = server_map(inputs, map_of(alone))
            e.map = pixels.limit(grey, inputs.selection, inputs.width, inputs.height)


def wire(params: dict, family: str | None = None) -> dict:
    """Complete, checked parameters for a model family (None: any) as JSON values."""
    values = schema.parse(params, family)
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


def variations(params: dict, count: int) -> list[dict]:
    """The parameters of `count` variations: the next seeds after a fixed one, or a
    seed the server draws for each."""
    seed = params.get("seed")
    span = schema.SEED_MAX - schema.SEED_MIN + 1
    return [
        {
            **params,
            "seed": None if seed is None else schema.SEED_MIN + (seed - schema.SEED_MIN + i) % span,
        }
        for i in range(count)
    ]


def content(inputs: Inputs, result) -> tuple[tuple, bytes] | None:
    """(box, B, G, R, A) of the result layer: the pixels the server changed (within the
    selection), transparent elsewhere, cropped to them; None if nothing visible changed.
    box is (x, y, width, height) on the canvas."""
    w, h = inputs.width, inputs.height
    decoded = image(inputs, result)
    x0, y0, x1, y1 = region(result.region, w, h)
    whole = (x0, y0, x1, y1) == (0, 0, w, h)
    edited = pixels.image_bytes(decoded if whole else decoded.copy(x0, y0, x1 - x0, y1 - y0))
    box = (x0, y0, x1, y1)
    changed = pixels.differs(edited, pixels.crop(inputs.source, w, box), x1 - x0, y1 - y0)
    changed = pixels.both(changed, pixels.nonzero(pixels.alpha(edited)))
    if inputs.selection is not None:
        changed = pixels.both(changed, pixels.nonzero(pixels.crop(inputs.selection, w, box, 1)))
    inner = pixels.bounding_box(changed, x1 - x0)
    if inner is None:
        return None
    kept = pixels.keep_where(
        pixels.crop(edited, x1 - x0, inner), pixels.crop(changed, x1 - x0, inner, 1)
    )
    ix0, iy0, ix1, iy1 = inner
    return (x0 + ix0, y0 + iy0, ix1 - ix0, iy1 - iy0), kept


def image(inputs: Inputs, result):
    """The server's image as an ARGB32 QImage of the canvas's size; DocumentError if not."""
    w, h = inputs.width, inputs.height
    try:
        decoded = pixels.decode_png(result.image)
    except ValueError as e:
        raise DocumentError(f"The server's result cannot be read ({e}): generate again.") from None
    if (decoded.width(), decoded.height()) != (w, h):
        raise DocumentError(
            f"The server sent a {decoded.width()}x{decoded.height()} result for this "
            f"{w}x{h} image: generate again."
        )
    return decoded


def shown_map(inputs: Inputs, result) -> bytes:
    """The edit map of a map request's result as the result layer applies it: white
    where the selection is empty, which no result pixel reaches (`content`), even where
    the map tools or a map made from alpha spread past it. Grey, one byte a pixel."""
    grey = server_map(inputs, result)
    if inputs.selection is None:
        return grey
    outside = pixels.invert(pixels.nonzero(inputs.selection))
    return pixels.lighten(grey, outside, inputs.width, inputs.height)


def server_map(inputs: Inputs, result) -> bytes:
    """The grey map of a map request's result, one byte a pixel."""
    return pixels.image_bytes(image(inputs, result).convertToFormat(pixels.GREY8), 1)


def region(box, width: int, height: int) -> tuple:
    """The server's region (x0, y0, x1, y1) clipped to the canvas; the canvas without one."""
    if not box:
        return 0, 0, width, height
    x0, y0, x1, y1 = box
    x0, y0 = max(0, min(x0, width)), max(0, min(y0, height))
    return x0, y0, max(x0, min(x1, width)), max(y0, min(y1, height))


def apply(doc, item: Entry, hide: bool = False):
    """Add a history entry as a result layer above its source; the layer remembers the
    recipe (the docker's "Use its settings" and "Run again" read it). With `hide`, the
    visible exemplars it used are hidden with it (schema.HIDE_EXEMPLARS), so that they
    no longer cover it. Returns the layer and the exemplars hidden."""
    document.check_format(doc)  # it may have been converted since the result came
    name = document.RESULT_NAME.format(seed=item.seed)
    covering = document.covering(doc, item.recipe.source, [i for i, _ in item.recipe.exemplars])
    hidden = covering if hide else []
    layer = document.add_layer(doc, item.recipe.source, name, item.box, item.bgra, hidden)
    store.remember_layer(doc, document.uid(layer), item.recipe)
    return layer, hidden
