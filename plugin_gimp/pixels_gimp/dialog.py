"""The dialog GIMP builds from the procedure's arguments, arranged in frames (the
schema's groups and the server's): numbers as GIMP's spin scales with the schema's steps
and decimals, the seed as a spin button GIMP 3.0 cannot build for an unsigned argument,
the token hidden as a password, and a menu of the server's models on the Model entry."""

import controls
import remote
from gi.repository import Gdk, GimpUi, GObject, Gtk

from pixels_client import Client, ClientError

MODELS_TIMEOUT = 2.0  # seconds to wait for the server's model list when the dialog opens


def ask(procedure, config, title: str) -> bool:
    """Show the dialog; True when the user pressed OK."""
    GimpUi.init("pixels_gimp")
    dialog = GimpUi.ProcedureDialog.new(procedure, config, title)
    for argument in controls.ARGUMENTS:
        if argument.kind == "choice":  # a menu, as GIMP 3.0 shows it (3.2 would use radios)
            dialog.get_widget(argument.name, Gtk.ComboBox.__gtype__)
        elif argument.kind in ("double", "int"):
            scale = dialog.get_spin_scale(argument.name, 1.0)
            scale.set_increments(argument.step, argument.step * 10)
            scale.set_digits(argument.digits)
    hide_token(dialog)
    model_menu(dialog, config)
    arrange(dialog, config)
    ok = dialog.run()
    dialog.destroy()
    return ok


def seed_spin(config, argument) -> Gtk.Widget:
    """A labelled spin button for an unsigned argument (GIMP 3.0's dialog has none),
    usable only when its random switch is off."""
    low, high, _ = argument.extra
    label = config.find_property(argument.name).get_nick()  # with its mnemonic
    spin = GimpUi.LabelSpin.new(label, config.get_property(argument.name), low, high, 0)
    both = GObject.BindingFlags.SYNC_CREATE | GObject.BindingFlags.BIDIRECTIONAL
    config.bind_property(argument.name, spin, "value", both)
    switch = controls.random_name(argument.name)
    invert = GObject.BindingFlags.SYNC_CREATE | GObject.BindingFlags.INVERT_BOOLEAN
    config.bind_property(switch, spin, "sensitive", invert)
    spin.set_tooltip_text(argument.help)
    spin.show()
    return spin


def arrange(dialog, config) -> None:
    """The edit's frame on the left; the maps' and the server's on the right."""
    for group, title in controls.GROUPS:
        arguments = [a for a in controls.ARGUMENTS if a.group == group]
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


def model_menu(dialog, config) -> None:
    """A menu button on the Model entry listing what the server can load; the entry's
    grey placeholder names the model it has loaded (what an empty entry uses)."""
    entry = entry_of(dialog, "model")
    try:
        token = remote.token_of(config.get_property("token"))
        with Client(config.get_property("server"), token, MODELS_TIMEOUT) as client:
            models = client.models()
    except ClientError:
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
