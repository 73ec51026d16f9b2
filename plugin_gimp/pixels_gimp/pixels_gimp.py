#!/usr/bin/env python3
"""GIMP 3 plug-in: Filters > PIXELS > Exemplar Edit... sends the selected layers to a
PIXELS server (`pixels serve`) and adds the edit as a new layer above the source;
Filters > PIXELS > Show Edit Map... adds the map that edit would use as a hidden channel.

GIMP calls this file as its own process. It only reads the image until the server's
answer is in; then one undo group adds the layer (or channel). So an error, or GIMP's
Cancel (which ends this process, and with it the connection, which makes the server
cancel the job), leaves the image as it was.
"""

import os
import sys

import gi

gi.require_version("Gimp", "3.0")
gi.require_version("GimpUi", "3.0")
gi.require_version("Gegl", "0.4")
gi.require_version("Gtk", "3.0")
gi.require_version("Gdk", "3.0")
from gi.repository import Gimp, GLib, GObject  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # our modules, the client

import answers  # noqa: E402
import controls  # noqa: E402
import layers  # noqa: E402
import record  # noqa: E402
import remote  # noqa: E402
import scene  # noqa: E402
import wording  # noqa: E402
from wording import Refused  # noqa: E402

from pixels_client import JobCancelled  # noqa: E402

EDIT, MAP = "plug-in-pixels-exemplar-edit", "plug-in-pixels-show-edit-map"
PROCEDURES = {  # name: (what the server is asked for, menu label, dialog title, blurb, help)
    EDIT: (
        "edit",
        "Exemplar Edit...",
        "PIXELS Exemplar Edit",
        "Edit a layer with exemplar layers and a PIXELS server",
        "The lowest selected layer (or the visible image) is edited towards the other "
        "selected layers, where their masks, alpha or the edit map say, within the "
        "selection; the result is a new layer above it that shows only what changed "
        "(the exemplars used are hidden, unless told not to). Needs a running PIXELS "
        "server (pixels serve).",
    ),
    MAP: (
        "map",
        "Show Edit Map...",
        "PIXELS Show Edit Map",
        "Add the edit map an Exemplar Edit would use, as a hidden channel",
        "The same inputs as Exemplar Edit; the server computes the map (white keeps the "
        "source, black takes the exemplar) without running the model, and it is added as "
        f"the hidden channel '{layers.MAP_NAME}' (in place of the one shown before).",
    ),
}
RW = GObject.ParamFlags.READWRITE  # without it the config has no such property


def choice(items) -> Gimp.Choice:
    options = Gimp.Choice.new()
    for i, (nick, label) in enumerate(items):
        options.add(nick, i, label, "")
    return options


def add_arguments(procedure) -> None:
    """One argument per entry of controls.ARGUMENTS: the dialog shows them, scripts set
    them. Their labels carry mnemonics, unique within the dialog (controls.LABELS)."""
    for argument in controls.ARGUMENTS:
        extra = argument.extra
        if argument.kind == "choice":
            extra = (choice(extra[0]), extra[1])
        add = getattr(procedure, f"add_{argument.kind}_argument")
        add(argument.name, controls.LABELS[argument.name], argument.help, *extra, RW)


def recorded(drawables) -> dict | None:
    """The record of an earlier edit when the one selected layer is its result."""
    if len(drawables) != 1:
        return None
    parasite = drawables[0].get_parasite(record.PARASITE)
    try:
        return None if parasite is None else record.decode(parasite.get_data())
    except ValueError:
        return None


def restore(config, image, done: dict) -> None:
    """Start from an earlier edit's settings (its seed included)."""
    values = {**controls.values_of(done["params"]), **done["inputs"], "model": done["model"]}
    for name, value in values.items():
        if name in controls.NAMES:
            config.set_property(name, value)
    tattoo = done["layers"].get("map")
    if tattoo is not None:
        drawable = image.get_layer_by_tattoo(tattoo) or image.get_channel_by_tattoo(tattoo)
        config.set_property("map-drawable", drawable)


def made_from(image, done: dict) -> list:
    """The layers an earlier edit was made from: its source (if not the visible image)
    and its exemplars, found by tattoo."""
    found = [image.get_layer_by_tattoo(t) for t in done["layers"]["exemplars"]]
    if done["layers"]["source"] is not None:
        found.append(image.get_layer_by_tattoo(done["layers"]["source"]))
    if any(layer is None for layer in found):
        raise Refused(
            "The layers this edit was made from are gone: select the source and its "
            "exemplars to edit again."
        )
    return found


def work(image, drawables, values: dict, want: str) -> None:
    """Read, send, follow; then add the result. GIMP's Cancel works while the progress
    runs; it has ended (and with it Cancel) before the image is touched."""
    Gimp.progress_init("PIXELS: reading the layers")
    try:
        level = 0 if remote.local(values["server"]) else 1
        made = scene.build(image, drawables, values, controls.params_of(values), level)
        answer, model = remote.send(made, values, want)
        Gimp.progress_set_text("PIXELS: adding the result")
        if want == "map":
            answers.add_map(image, made, answer)
        else:
            answers.add_edit(image, made, answer, values, model)
    finally:
        Gimp.progress_end()


def failed(procedure, message: str):
    """An error GIMP shows the user (and returns to a script), the image untouched."""
    error = GLib.Error(f"PIXELS: {message}")
    return procedure.new_return_values(Gimp.PDBStatusType.EXECUTION_ERROR, error)


class PixelsGimp(Gimp.PlugIn):
    def do_set_i18n(self, name):
        return False  # no translations yet; otherwise GIMP looks for a locale folder

    def do_query_procedures(self):
        return list(PROCEDURES)

    def do_create_procedure(self, name):
        _, menu, _, blurb, text = PROCEDURES[name]
        procedure = Gimp.ImageProcedure.new(self, name, Gimp.PDBProcType.PLUGIN, self.run, None)
        procedure.set_image_types("RGB*, GRAY*")
        procedure.set_sensitivity_mask(
            Gimp.ProcedureSensitivityMask.DRAWABLE | Gimp.ProcedureSensitivityMask.DRAWABLES
        )
        procedure.set_menu_label(menu)
        procedure.add_menu_path("<Image>/Filters/PIXELS")
        procedure.set_documentation(blurb, text, name)
        procedure.set_attribution("PIXELS Studio", "PIXELS Studio", "2026")
        add_arguments(procedure)
        return procedure

    def run(self, procedure, run_mode, image, drawables, config, data):
        want, _, title, _, _ = PROCEDURES[procedure.get_name()]
        layers.init()
        done = recorded(drawables)
        if done is not None and run_mode != Gimp.RunMode.NONINTERACTIVE:
            restore(config, image, done)
        if run_mode == Gimp.RunMode.INTERACTIVE:
            import dialog  # GTK only when there is a dialog to show

            if not dialog.ask(procedure, config, title, done is not None):
                return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        values = {name: config.get_property(name) for name in controls.NAMES}
        config.set_property("token", "")  # GIMP saves the last values in clear: not the token
        try:
            values["server"] = wording.checked_address(values["server"])
            picked = made_from(image, done) if done is not None else drawables
            work(image, picked, values, want)
        except JobCancelled:
            return procedure.new_return_values(Gimp.PDBStatusType.CANCEL, GLib.Error())
        except Refused as e:
            return failed(procedure, str(e))
        return procedure.new_return_values(Gimp.PDBStatusType.SUCCESS, GLib.Error())


Gimp.main(PixelsGimp.__gtype__, sys.argv)
