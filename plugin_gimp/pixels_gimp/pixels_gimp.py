#!/usr/bin/env python3
"""GIMP 3 plug-in: Filters > PIXELS > Exemplar Edit... sends the selected layers to a
PIXELS server (`pixels serve`) and adds the edit as a new layer above the source.

GIMP calls this file as its own process. It only reads the image until the server's
result is in; then one undo group adds the result layer and its settings parasite. So
an error, or GIMP's Cancel (which ends this process, and with it the connection, which
makes the server cancel the job), leaves the image as it was.
"""

import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("Gegl", "0.4")
from gi.repository import Gegl, Gimp, GLib, GObject  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # our modules, pixels_client

import canvas  # noqa: E402
import record  # noqa: E402
import settings  # noqa: E402

from pixels_client import (  # noqa: E402
    AuthError,
    Client,
    ClientError,
    EditRequest,
    JobCancelled,
    Layer,
    Progress,
    Queued,
    Started,
    png,
)

PROC = "plug-in-pixels-exemplar-edit"
RGBA8 = "R'G'B'A u8"  # primed: sRGB-encoded, what the server's PNGs hold
EIGHT_BIT = (Gimp.Precision.U8_LINEAR, Gimp.Precision.U8_NON_LINEAR, Gimp.Precision.U8_PERCEPTUAL)
NORMAL = Gimp.LayerMode.NORMAL
RW = GObject.ParamFlags.READWRITE  # without it the config has no such property


class Refused(Exception):
    """The inputs cannot make an edit; the message tells the user what to change."""


def choice(*items: tuple[str, str]) -> Gimp.Choice:
    options = Gimp.Choice.new()
    for i, (nick, label) in enumerate(items):
        options.add(nick, i, label, "")
    return options


def add_arguments(p: Gimp.Procedure) -> None:
    """Every input is an argument: the dialog shows them, scripts set them."""
    p.add_choice_argument(
        "source",
        "So_urce",
        "The picture to edit; the other selected layers are the exemplars",
        choice(("lowest", "Lowest selected layer"), ("visible", "Visible image")),
        "lowest",
        RW,
    )
    p.add_string_argument("prompt", "_Prompt", "What the edited area should show", "", RW)
    p.add_string_argument("negative-prompt", "_Negative prompt", "What to avoid", "", RW)
    p.add_double_argument(
        "strength", "S_trength", "Share of the noise schedule run", 0.0, 1.0, 0.6, RW
    )
    p.add_int_argument("steps", "St_eps", "Length of the schedule", 1, 150, 30, RW)
    p.add_int_argument("seed", "See_d", "-1: a new random seed", -1, 2**31 - 1, -1, RW)
    p.add_double_argument("guidance", "_Guidance", "Prompt guidance scale", 0.0, 50.0, 5.0, RW)
    p.add_choice_argument(
        "threshold",
        "T_hreshold curve",
        "When grey map levels are released",
        choice(*((name, name.capitalize()) for name in settings.THRESHOLDS)),
        "linear",
        RW,
    )
    p.add_choice_argument(
        "mode",
        "E_xemplars",
        "All exemplars at once, or one after another",
        choice(("single", "All at once"), ("chain", "One after another")),
        "single",
        RW,
    )
    p.add_choice_argument(
        "edit-map",
        "Edit _map",
        "For exemplars without a layer mask (white = take the exemplar)",
        choice(
            ("alpha", "From the exemplars' alpha"),
            ("selection", "The selection"),
            ("drawable", "The map drawable"),
        ),
        "alpha",
        RW,
    )
    p.add_drawable_argument(
        "map-drawable",
        "Map channel or la_yer",
        "A channel or grey layer (edit map: drawable)",
        True,
        RW,
    )
    p.add_double_argument(
        "transition",
        "Tr_ansition width",
        "Pixels of ramp in maps made from alpha",
        0.0,
        1024.0,
        32.0,
        RW,
    )
    p.add_int_argument("grow", "Gro_w map", "Pixels; negative shrinks", -512, 512, 0, RW)
    p.add_double_argument("feather", "_Feather map", "Pixels", 0.0, 512.0, 0.0, RW)
    p.add_boolean_argument(
        "invert", "_Invert maps", "Swap what is kept and what changes", False, RW
    )
    p.add_string_argument(
        "server", "Ser_ver", "Address of `pixels serve`", settings.DEFAULT_SERVER, RW
    )
    p.add_string_argument("token", "To_ken", "The server's token, if it has one", "", RW)


SETTINGS = (
    "source", "prompt", "negative-prompt", "strength", "steps", "seed", "guidance", "threshold",
    "mode", "edit-map", "transition", "grow", "feather", "invert", "server", "token",
)  # fmt: skip


def offsets(item) -> tuple[int, int]:
    _, x, y = item.get_offsets()
    return x, y


def read(drawable, rect: tuple[int, int, int, int], fmt: str) -> bytes:
    """Pixels of `rect` (drawable coordinates) in babl format `fmt`; zero outside it."""
    buffer = drawable.get_buffer()
    area = Gegl.Rectangle.new(*rect)
    return bytes(buffer.get(area, 1.0, fmt, Gegl.AbyssPolicy.NONE))


def read_rgba(drawable, box: canvas.Box) -> bytes:
    """The drawable on the canvas as RGBA bytes, transparent where it does not reach."""
    return read(drawable, canvas.local_rect(box, *offsets(drawable)), RGBA8)


def rgba_png(pixels: bytes, box: canvas.Box) -> bytes:
    return png.encode_rgba(box.width, box.height, pixels)


def read_map(drawable, box: canvas.Box, deep: bool) -> bytes:
    """A mask, channel, selection or grey layer on the canvas as the protocol's grey map
    PNG (16-bit when the image has more than 8 bits). Channels are stored linear and
    read as such; a layer is read as the grey the user sees."""
    trc = "Y'" if drawable.is_layer() else "Y"
    grey = read(drawable, canvas.local_rect(box, *offsets(drawable)), f"{trc} u{16 if deep else 8}")
    if deep:
        grey = canvas.big_endian_u16(grey)
    return png.encode_grey(box.width, box.height, canvas.edit_map(grey), 16 if deep else 8)


def stack(layers) -> list:
    """`layers` and everything inside them, top to bottom."""
    out = []
    for layer in layers:
        out.append(layer)
        if layer.is_group():
            out += stack(layer.get_children())
    return out


def pick_layers(image, drawables, source_mode: str):
    """(source layer or None for the visible image, exemplar layers)."""
    if any(not d.is_layer() for d in drawables):
        raise Refused("select layers (the source and its exemplars), not channels or masks")
    if source_mode == "visible":
        return None, list(drawables)
    try:
        ids = [layer.get_id() for layer in stack(image.get_layers())]
        source, exemplars = canvas.split_source([d.get_id() for d in drawables], ids)
    except ValueError as e:
        raise Refused(str(e)) from None
    return Gimp.Layer.get_by_id(source), [Gimp.Layer.get_by_id(i) for i in exemplars]


def read_visible(image, exemplars) -> bytes:
    """The visible image without the exemplars, as RGBA bytes: read from a duplicate
    (whose layer stack matches the image's), so the image itself never changes."""
    hidden = {layer.get_id() for layer in exemplars}
    copy = image.duplicate()
    try:
        for original, duplicate in zip(
            stack(image.get_layers()), stack(copy.get_layers()), strict=True
        ):
            if original.get_id() in hidden:
                duplicate.set_visible(False)
        flat = Gimp.Layer.new_from_visible(copy, copy, "visible")
        copy.insert_layer(flat, None, 0)
        return read_rgba(flat, canvas.Box(0, 0, image.get_width(), image.get_height()))
    finally:
        copy.delete()


def global_map(image, map_drawable, mode: str, box: canvas.Box, deep: bool) -> bytes | None:
    if mode == "selection":
        if Gimp.Selection.is_empty(image):
            raise Refused("the edit map is the selection, but nothing is selected")
        return read_map(image.get_selection(), box, deep)
    if mode == "drawable":
        if map_drawable is None:
            raise Refused("the edit map is a drawable: choose a channel or grey layer as map")
        return read_map(map_drawable, box, deep)
    return None


def build_request(image, drawables, values: dict, map_drawable):
    """(EditRequest, source layer or None, canvas box, source RGBA) from the image;
    reads only."""
    source, exemplars = pick_layers(image, drawables, values["source"])
    deep = image.get_precision() not in EIGHT_BIT
    if source is None:
        box = canvas.Box(0, 0, image.get_width(), image.get_height())
        pixels = read_visible(image, exemplars)
    else:
        box = canvas.Box(*offsets(source), source.get_width(), source.get_height())
        pixels = read_rgba(source, box)
    layers = [
        Layer(
            rgba_png(read_rgba(ex, box), box),
            read_map(ex.get_mask(), box, deep) if ex.get_mask() else None,
        )
        for ex in exemplars
    ]
    grey = global_map(image, map_drawable, values["edit-map"], box, deep)
    if not layers and grey is None:
        raise Refused("select exemplar layers above the source, or use a selection or map")
    request = EditRequest(rgba_png(pixels, box), layers, grey, settings.edit_params(values))
    return request, source, box, pixels


def follow(job):
    """Move GIMP's progress bar with the job; the job's result (or its error)."""
    for event in job.events():
        if isinstance(event, Queued):
            Gimp.progress_set_text(f"PIXELS: waiting, number {event.position} in the queue")
        elif isinstance(event, Started):
            Gimp.progress_set_text("PIXELS: editing")
        elif isinstance(event, Progress):
            left = f", about {event.eta:.0f} s left" if event.step < event.total else ""
            Gimp.progress_set_text(f"PIXELS: step {event.step} of {event.total}{left}")
            Gimp.progress_update(event.step / event.total)
    return job.result()


def add_result(image, source, box: canvas.Box, sent: bytes, result, values, model) -> None:
    """The result as a new layer directly above the source, in one undo group: a copy of
    the source at full precision, with the pixels the edit changed written over it."""
    grey = image.get_base_type() == Gimp.ImageBaseType.GRAY
    kind = Gimp.ImageType.GRAYA_IMAGE if grey else Gimp.ImageType.RGBA_IMAGE
    w, h = box.width, box.height
    rgba = png.decode(result.image)[2]
    image.undo_group_start()
    try:
        layer = Gimp.Layer.new(image, settings.layer_name(result.seed), w, h, kind, 100.0, NORMAL)
        if source is None:
            image.insert_layer(layer, None, 0)
        else:
            image.insert_layer(layer, source.get_parent(), image.get_item_position(source))
        layer.set_offsets(box.x, box.y)
        buffer = layer.get_buffer()
        if source is None:
            buffer.set(Gegl.Rectangle.new(0, 0, w, h), RGBA8, rgba)
        else:
            whole = Gegl.Rectangle.new(0, 0, w, h)
            source.get_buffer().copy(whole, Gegl.AbyssPolicy.NONE, buffer, whole)
            rect = canvas.changed_rect(result.region, box)
            for x, y, n in canvas.changed_runs(rgba, sent, w, rect) if rect else []:
                start = (y * w + x) * 4
                buffer.set(Gegl.Rectangle.new(x, y, n, 1), RGBA8, rgba[start : start + n * 4])
        buffer.flush()
        layer.update(0, 0, w, h)
        done = {**values, "seed": result.seed}
        data = record.encode(done, settings.edit_params(done), model, result.region)
        flags = Gimp.PARASITE_PERSISTENT | Gimp.PARASITE_UNDOABLE
        layer.attach_parasite(Gimp.Parasite.new(record.PARASITE, flags, list(data)))
    finally:
        image.undo_group_end()


def edit(image, drawables, values: dict, map_drawable) -> None:
    """Read, send, follow; then add the result. GIMP's Cancel works while the progress
    runs; it has ended (and with it Cancel) before the image is touched."""
    Gimp.progress_init("PIXELS: reading the layers")
    try:
        request, source, box, sent = build_request(image, drawables, values, map_drawable)
        Gimp.progress_set_text(f"PIXELS: sending to {values['server']}")
        with Client(values["server"], values["token"] or None) as client:
            model = client.connect().model.get("name", "")
            result = follow(client.submit(request))
    finally:
        Gimp.progress_end()
    add_result(image, source, box, sent, result, values, model)


def stored_settings(drawables) -> dict:
    """The settings of an earlier edit when a selected layer is its result (to re-run)."""
    for drawable in drawables:
        parasite = drawable.get_parasite(record.PARASITE)
        if parasite is not None:
            try:
                return record.decode(parasite.get_data())["settings"]
            except ValueError:
                continue
    return {}


def ask(procedure, config) -> bool:
    """The auto-built dialog of every argument; False when the user closes it."""
    gi.require_version("GimpUi", "3.0")
    from gi.repository import GimpUi

    GimpUi.init(PROC)
    dialog = GimpUi.ProcedureDialog.new(procedure, config, "PIXELS Exemplar Edit")
    dialog.fill(None)
    ok = dialog.run()
    dialog.destroy()
    return ok


def failed(procedure, message: str):
    """An error GIMP shows the user (and returns to a script), the image untouched."""
    error = GLib.Error(f"PIXELS: {message}")
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


class PixelsGimp(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False  # no translations yet; otherwise GIMP looks for a locale folder

    def do_query_procedures(self):
        return [PROC]

    def do_create_procedure(self, name):
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES
        )
        procedure.set_menu_label("Exemplar Edit...")
        procedure.add_menu_path("<Image>/Filters/PIXELS")
        procedure.set_documentation(
            "Edit a layer with exemplar layers and a PIXELS server",
            "The lowest selected layer (or the visible image) is edited towards the other "
            "selected layers, where their masks, alpha or the edit map say; the result is "
            "a new layer above it. Needs a running `pixels serve`.",
            name,
        )
        procedure.set_attribution("PIXELS Studio", "PIXELS Studio", "2026")
        add_arguments(procedure)
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, data):
        if run_mode == Gimp.RunMode.INTERACTIVE:
            for key, value in stored_settings(drawables).items():
                if key in SETTINGS:
                    config.set_property(key, value)
            if not ask(procedure, config):
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        values = {name: config.get_property(name) for name in SETTINGS}
        try:
            edit(image, drawables, values, config.get_property("map-drawable"))
        except JobCancelled:
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        except AuthError as e:
            return failed(procedure, f"{e} Check the Token setting (the server's --token).")
        except (Refused, ClientError) as e:
            return failed(procedure, str(e))
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


Gimp.main(PixelsGimp.__gtype__, sys.argv)
