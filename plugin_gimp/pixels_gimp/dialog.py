"""The dialog GIMP builds from the procedure's arguments, arranged in frames (the
schema's groups and the server's): numbers as GIMP's spin scales with the schema's steps
and decimals, the seed as a spin button GIMP 3.0 cannot build for an unsigned argument,
the token hidden as a password, and a menu of the server's models on the Model entry.
It shows what the serving model's family takes, in its words and with its defaults
(controls.for_family); with no server to ask, every control as any model takes it."""

import controls
import remote
from gi.repository import Gdk, GimpUi, GObject, Gtk

from pixels_client import Client, ClientError

MODELS_TIMEOUT = 2.0  # seconds to wait for the server's model list when the dialog opens


def ask(procedure, config, title: str, restored: bool) -> bool:
    """Show the dialog; True when the user pressed OK. `restored`: the values are an
    earlier edit's, which a family's defaults do not replace."""
    GimpUi.init("pixels_gimp")
    models = served(config)
    shown, changed = follow_family(config, models, restored)  # before Reset keeps a copy
    dialog = GimpUi.ProcedureDialog.new(procedure, config, title)
    for argument in shown:
        if argument.kind == "choice":  # a menu, as GIMP 3.0 shows it (3.2 would use radios)
            dialog.get_widget(argument.name, Gtk.ComboBox.__gtype__)
        elif argument.kind in ("double", "int"):
            scale = dialog.get_spin_scale(argument.name, 1.0)
            scale.set_increments(argument.step, argument.step * 10)
            scale.set_digits(argument.digits)
    hide_token(dialog)
    model_menu(dialog, models)
    arrange(dialog, config, shown)
    for argument in changed:
        if argument.kind != "uint":  # the seed's spin is ours, built with its words
            reword(dialog.get_widget(argument.name, GObject.TYPE_NONE), argument)
    ok = dialog.run()
    dialog.destroy()
    return ok


def follow_family(config, models: dict | None, restored: bool) -> tuple[list, tuple]:
    """Set the values for the serving model's family (controls.settled); the arguments
    to show, each in the family's version, and those it words otherwise. With no answer
    from the server: all of them, as any model takes them."""
    family = models["current"].get("family") if models else None
    values = {name: config.get_property(name) for name in controls.NAMES}
    for name, value in controls.settled(family, values, restored).items():
        config.set_property(name, value)
    hidden, changed = controls.for_family(family)
    own = {a.name: a for a in changed}
    return [own.get(a.name, a) for a in controls.ARGUMENTS if a.name not in hidden], changed


def reword(widget, argument) -> None:
    """A family's label and help on a control GIMP built with any model's."""
    widget.set_property("label", controls.relabelled(argument))
    widget.set_tooltip_text(argument.help)


def seed_spin(config, argument) -> Gtk.Widget:
    """A labelled spin button for an unsigned argument (GIMP 3.0's dialog has none),
    usable only when its random switch is off."""
    low, high, _ = argument.extra
    label = controls.relabelled(argument)  # with its mnemonic
    spin = GimpUi.LabelSpin.new(label, config.get_property(argument.name), low, high, 0)
    both = GObject.BindingFlags.SYNC_CREATE | GObject.BindingFlags.BIDIRECTIONAL
    config.bind_property(argument.name, spin, "value", both)
    switch = controls.random_name(argument.name)
    invert = GObject.BindingFlags.SYNC_CREATE | GObject.BindingFlags.INVERT_BOOLEAN
    config.bind_property(switch, spin, "sensitive", invert)
    spin.set_tooltip_text(argument.help)
    spin.show()
    return spin


def arrange(dialog, config, shown: list) -> None:
    """The `shown` arguments in frames: the edit's on the left; the maps' and the
    server's on the right."""
    for group, title in controls.GROUPS:
        arguments = [a for a in shown if a.group == group]
        box = dialog.fill_box(f"{group}-box", [a.name for a in arguments if a.kind != "uint"])
        for index, argument in enumerate(arguments):
            if argument.kind == "uint":
                spin = seed_spin(config, argument)
                box.pack_start(spin, False, False, 0)
                box.reorder_child(spin, index)
        dialog.get_label(f"{group}-title", title, False, False)
        dialog.fill_frame(f"{group}-frame", f"{group}-title", False, f"{group}-box")
    left, *right = (f"{group}-frame" for group, _ in controls.GROUPS)
    dialog.fill_box("right-column", right)
    columns = dialog.fill_box("columns", [left, "right-column"])
    columns.set_orientation(Gtk.Orientation.HORIZONTAL)
    columns.set_spacing(12)
    dialog.fill(["columns"])


def entry_of(dialog, name: str) -> Gtk.Entry:
    return dialog.get_widget(name, GObject.TYPE_NONE).get_entry()


def hide_token(dialog) -> None:
    entry = entry_of(dialog, "token")
    entry.set_visibility(False)
    entry.set_input_purpose(Gtk.InputPurpose.PASSWORD)


def served(config) -> dict | None:
    """The server's models (`current` names the one it serves, with its family), or
    None when it does not answer in time."""
    try:
        token = remote.token_of(config.get_property("token"))
        with Client(config.get_property("server"), token, MODELS_TIMEOUT) as client:
            return client.models()
    except ClientError:
        return None


def model_menu(dialog, models: dict | None) -> None:
    """A menu button on the Model entry listing what the server can load; the entry's
    grey placeholder names the model it has loaded (what an empty entry uses)."""
    entry = entry_of(dialog, "model")
    if models is None:
        entry.set_placeholder_text("the server's (not reachable now)")
        return
    current = models["current"].get("name", "")
    entry.set_placeholder_text(f"the server's: {current}")
    names = list(dict.fromkeys([current, *models["builtin"], *models["aliases"]]))
    menu = Gtk.Menu()
    for name in names:
        item = Gtk.MenuItem.new_with_label(name)
        item.connect("activate", lambda _item, text=name: entry.set_text(text))
        menu.append(item)
    menu.show_all()
    entry.set_icon_from_icon_name(Gtk.EntryIconPosition.SECONDARY, "pan-down-symbolic")
    entry.set_icon_tooltip_text(Gtk.EntryIconPosition.SECONDARY, "Models this server can load")
    below = (Gdk.Gravity.SOUTH_WEST, Gdk.Gravity.NORTH_WEST)
    entry.connect("icon-press", lambda *_: menu.popup_at_widget(entry, *below, None))
