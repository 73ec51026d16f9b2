"""The dialog GIMP builds from the procedure's arguments, arranged in frames (the
schema's groups and the server's): numbers as GIMP's spin scales with the schema's steps
and decimals, the seed as a spin button GIMP 3.0 cannot build for an unsigned argument,
the token hidden as a password, and a menu of the server's models on the Model entry.
It shows what the family of the model the edit will use takes (the served one, or the
one picked in the Model field), in its words and with its defaults (controls.for_family);
with no server to ask, every control as any model takes it."""

import controls
import remote
import wording
from gi.repository import Gdk, GimpUi, GObject, Gtk
from wording import Refused

from pixels_client import Client, ClientError, ServerUnavailable
from pixels_contract import schema

MODELS_TIMEOUT = 2.0  # seconds to wait for the server's model list when the dialog opens


def ask(procedure, config, title: str, restored: bool) -> bool:
    """Show the dialog; True when the user pressed OK. `restored`: the values are an
    earlier edit's, which a family's defaults do not replace."""
    GimpUi.init("pixels_gimp")
    models, state = served(config)
    fit = Fit(config, models, restored)  # values first: Reset keeps a copy of them
    dialog = GimpUi.ProcedureDialog.new(procedure, config, title)
    for argument in controls.ARGUMENTS:
        if argument.kind == "choice":  # a menu, as GIMP 3.0 shows it (3.2 would use radios)
            dialog.get_widget(argument.name, Gtk.ComboBox.__gtype__)
        elif argument.kind in ("double", "int"):
            scale = dialog.get_spin_scale(argument.name, 1.0)
            scale.set_increments(argument.step, argument.step * 10)
            scale.set_digits(argument.digits)
    hide_token(dialog)
    fit.widgets = arrange(dialog, config, state)
    fit.show()
    model_menu(dialog, models, fit)
    ok = dialog.run()
    dialog.destroy()
    return ok


class Fit:
    """The controls fitted to the family of the model the edit will use: the served one,
    or the one picked in the Model field (controls.for_family, controls.settled). With
    no answer from the server, or a model whose family is not known before it loads,
    every control shows, as any model takes it."""

    def __init__(self, config, models: dict | None, restored: bool):
        self.config, self.models, self.widgets = config, models, {}
        self.family = self.family_of(config.get_property("model"))
        self.settle(None, restored)

    def family_of(self, model: str) -> str | None:
        if self.models is None:
            return None
        current = self.models["current"]
        if model.strip() in ("", current.get("name")):
            return current.get("family")
        return self.models.get("families", {}).get(model.strip())

    def settle(self, before: str | None, restored: bool) -> None:
        values = {name: self.config.get_property(name) for name in controls.NAMES}
        for name, value in controls.settled(self.family, values, restored, before).items():
            self.config.set_property(name, value)

    def picked(self, model: str) -> None:
        """The Model field changed: fit the controls to that model's family."""
        before, self.family = self.family, self.family_of(model)
        if self.family != before:
            self.settle(before, False)
            self.show()

    def show(self) -> None:
        """Show the family's controls in its words; hide the others."""
        hidden, changed = controls.for_family(self.family)
        own = {a.name: a for a in changed}
        for name, widget in self.widgets.items():
            widget.set_no_show_all(name in hidden)
            widget.set_visible(name not in hidden)
            argument = own.get(name, controls.BY_NAME[name])
            label = controls.relabelled(argument) if name in own else controls.LABELS[name]
            if widget.get_property("label") != label:
                widget.set_property("label", label)
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


def arrange(dialog, config, state: str) -> dict:
    """Every argument in frames: the edit's on the left; the maps' and the server's on
    the right, with a line saying what the server serves (or why it cannot say). The
    controls of the schema's parameters, by argument name."""
    widgets = {}
    for group, title in controls.GROUPS:
        arguments = [a for a in controls.ARGUMENTS if a.group == group]
        box = dialog.fill_box(f"{group}-box", [a.name for a in arguments if a.kind != "uint"])
        for index, argument in enumerate(arguments):
            if argument.kind == "uint":
                widgets[argument.name] = seed_spin(config, argument)
                box.pack_start(widgets[argument.name], False, False, 0)
                box.reorder_child(widgets[argument.name], index)
            elif argument.name in controls.PARAM_NAMES:
                widgets[argument.name] = dialog.get_widget(argument.name, GObject.TYPE_NONE)
        if group == controls.SERVER:
            line = Gtk.Label(label=state, xalign=0.0, wrap=True, max_width_chars=40)
            line.set_selectable(True)
            box.pack_start(line, False, False, 0)
            line.show()
        dialog.get_label(f"{group}-title", title, False, False)
        dialog.fill_frame(f"{group}-frame", f"{group}-title", False, f"{group}-box")
    left, *right = (f"{group}-frame" for group, _ in controls.GROUPS)
    dialog.fill_box("right-column", right)
    columns = dialog.fill_box("columns", [left, "right-column"])
    columns.set_orientation(Gtk.Orientation.HORIZONTAL)
    columns.set_spacing(12)
    dialog.fill(["columns"])
    return widgets


def entry_of(dialog, name: str) -> Gtk.Entry:
    return dialog.get_widget(name, GObject.TYPE_NONE).get_entry()


def hide_token(dialog) -> None:
    entry = entry_of(dialog, "token")
    entry.set_visibility(False)
    entry.set_input_purpose(Gtk.InputPurpose.PASSWORD)


def served(config) -> tuple[dict | None, str]:
    """The server's models (`current` names the one it serves, with its family), or
    None when it does not answer in time; and a line that says which, or why not."""
    try:
        server = wording.checked_address(config.get_property("server"))
        token = remote.token_of(config.get_property("token"))
        with Client(server, token, MODELS_TIMEOUT) as client:
            models = client.models()
    except Refused as e:
        return None, str(e)
    except ServerUnavailable:
        return None, wording.not_running(server)
    except ClientError as e:
        return None, f"The PIXELS server at {wording.address(server)} gave no models: {e}"
    current = models["current"]
    family = schema.FAMILIES.get(current.get("family"))
    serving = f" ({family.title})" if family else ""
    return models, f"Serving {current.get('name', 'no model yet')}{serving}."


def model_menu(dialog, models: dict | None, fit: Fit) -> None:
    """A menu button on the Model entry listing what the server can load; the entry's
    grey placeholder names the model it has loaded (what an empty entry uses). The
    controls follow the model the entry names."""
    entry = entry_of(dialog, "model")
    entry.connect("changed", lambda _entry: fit.picked(entry.get_text()))
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
