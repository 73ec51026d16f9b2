"""The server's answer put into the image, in one undo group: the edit as a layer that
shows only what changed (with its record), the exemplars it used hidden if asked, or the
edit map as a hidden channel."""

import canvas
import controls
import layers
import record
import wording
from gi.repository import Gimp
from wording import Refused

from pixels_client import png


def add_map(image, made, answer) -> None:
    """The map (white keeps) as the hidden channel layers.MAP_NAME."""
    grey = png.decode(answer.image)[2][0::4]
    image.undo_group_start()
    try:
        layers.add_map(image, made.box, grey)
    finally:
        image.undo_group_end()


def add_edit(image, made, answer, values: dict, model: str) -> None:
    """The result layer and its record (the parameters sent, with the seed the server
    used), in one undo group: opaque where a pixel changed inside the selection, if one
    limits the edit (schema.SELECTION_RULE: a map tool may spread a map past it).
    Refused, and no layer, when the edit changed nothing there."""
    rect = canvas.changed_rect(answer.region, made.box)
    pixels = None
    if rect is not None:
        width = made.box.width
        new = canvas.crop(png.decode(answer.image)[2], width, rect)
        selection = made.reader.selection
        inside = None if selection is None else layers.selected(selection, made.box, rect)
        pixels = canvas.edited_only(new, canvas.crop(made.sent, width, rect), inside)
    if pixels is None or canvas.only(pixels[3::4], 0):
        raise Refused(
            "The edit changed nothing: every edit map is white where it applies. Check "
            "the exemplars' masks, the map drawable and the selection."
        )
    inputs = {name: values[name] for name in controls.RECORDED}
    done = {**made.request.params, "seed": answer.seed}
    data = record.encode(done, inputs, model, answer.region, made.tattoos)
    name = f"PIXELS edit (seed {answer.seed})"
    hidden = [layer for layer in made.exemplars if values["hide-exemplars"] and layer.get_visible()]
    image.undo_group_start()
    try:
        layer = layers.add_result(image, made.source, made.box, rect, pixels, name)
        flags = Gimp.PARASITE_PERSISTENT | Gimp.PARASITE_UNDOABLE
        layer.attach_parasite(Gimp.Parasite.new(record.PARASITE, flags, list(data)))
        for exemplar in hidden:
            exemplar.set_visible(False)
    finally:
        image.undo_group_end()
    if hidden:
        Gimp.message(wording.hidden([exemplar.get_name() for exemplar in hidden]))
