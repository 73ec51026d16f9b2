"""The plug-in's procedure arguments: one per edit parameter of the contract's schema,
built by a rule for each kind, plus the plug-in's own inputs (which layers, which map,
the selection, the server). GIMP builds its dialog and its script interface from them,
so a parameter added to the schema appears in GIMP with no change here.
The arguments stay fixed once GIMP has them; what the serving model's family takes
(`schema.family`) only changes what the dialog shows (`for_family`, `settled`).
No GIMP here, so the host Python tests it.
"""

import re
from dataclasses import dataclass

from pixels_contract import schema
from pixels_contract.messages import DEFAULT_HOST, DEFAULT_PORT

SERVER = "server"  # the dialog group of the plug-in's own server settings
GROUPS = (*schema.GROUPS, (SERVER, "Server"))
# Mnemonics of the dialog's buttons: _Cancel, _Help, _Load Saved Settings, _OK, _Reset,
# _Save Settings.
RESERVED = "chlors"
INT_LIMIT = 2**31 - 1  # GIMP's int arguments are 32-bit
DOUBLE_LIMIT = 1e300  # a double argument's bound where the schema sets none


@dataclass(frozen=True)
class Argument:
    """One procedure argument: Gimp.Procedure.add_<kind>_argument(name, label, help,
    *extra). `extra` is (minimum, maximum, default) for numbers, (choices, default) for a
    choice, (default,) otherwise; (none_ok,) for a drawable."""

    name: str
    kind: str  # string, double, int, uint, boolean, choice, drawable
    label: str
    help: str
    group: str
    extra: tuple
    step: float = 1.0  # a number's increment and decimals in the dialog
    digits: int = 0

    @property
    def default(self):
        """The value it starts at (a drawable's extra holds none)."""
        return self.extra[-1]


def arg_name(param: schema.Param) -> str:
    return param.name.replace("_", "-")


def random_name(name: str) -> str:
    """The switch that stands for a SEED argument's None: draw a new seed."""
    return f"random-{name}"


def range_names(param: schema.Param) -> tuple[str, str]:
    return f"{arg_name(param)}-low", f"{arg_name(param)}-high"


def labelled(param: schema.Param) -> str:
    """The label with its unit, unless the label already says it: 'Grow (px)'."""
    unit = param.unit
    return f"{param.label} ({unit})" if unit and unit not in param.label.lower() else param.label


def bounds(param: schema.Param, limit: float) -> tuple:
    low = -limit if param.minimum is None else param.minimum
    high = limit if param.maximum is None else param.maximum
    return low, high


def from_param(p: schema.Param) -> list[Argument]:
    """The arguments that carry one schema parameter."""
    name, label = arg_name(p), labelled(p)
    if p.kind == schema.TEXT:
        return [Argument(name, "string", label, p.help, p.group, (p.default,))]
    if p.kind == schema.NUMBER:
        low, high = bounds(p, DOUBLE_LIMIT)
        extra = (low, high, p.default)
        return [Argument(name, "double", label, p.help, p.group, extra, p.step, p.digits)]
    if p.kind == schema.INTEGER:
        low, high = bounds(p, INT_LIMIT)
        extra = (int(low), int(high), p.default)
        return [Argument(name, "int", label, p.help, p.group, extra, p.step)]
    if p.kind == schema.BOOLEAN:
        return [Argument(name, "boolean", label, p.help, p.group, (p.default,))]
    if p.kind == schema.CHOICE:
        return [Argument(name, "choice", label, p.help, p.group, (p.choices, p.default))]
    if p.kind == schema.RANGE:
        low, high = bounds(p, DOUBLE_LIMIT)
        return [
            Argument(names, "double", f"{label} ({end})", p.help, p.group, extra, p.step, p.digits)
            for names, end, extra in zip(
                range_names(p), ("low", "high"), ((low, high, d) for d in p.default), strict=True
            )
        ]
    if p.kind == schema.SEED:
        seed = 0 if p.default is None else p.default
        extra = (int(p.minimum), int(p.maximum), seed)
        draw = f"Random {p.label.lower()}"
        why = f"Draw a new {p.label.lower()} for every edit; the result layer keeps the one used"
        return [
            Argument(name, "uint", label, p.help, p.group, extra),
            Argument(random_name(arg_name(p)), "boolean", draw, why, p.group, (p.default is None,)),
        ]
    raise ValueError(f"no GIMP argument for the parameter kind {p.kind!r}")


SOURCE = Argument(
    "source",
    "choice",
    "Source",
    "The picture to edit: the lowest selected layer, or everything visible; the other "
    "selected layers are the exemplars",
    "edit",
    ((("lowest", "Lowest selected layer"), ("visible", "Visible image")), "lowest"),
)
HIDE = Argument("hide-exemplars", "boolean", *schema.HIDE_EXEMPLARS, "edit", (True,))
MAP_FROM = Argument(
    "edit-map",
    "choice",
    "Exemplar maps",
    "Where an exemplar without a layer mask goes in: around its opaque part, or where the "
    "map drawable says",
    "maps",
    ((("exemplars", "From their alpha"), ("drawable", "The map drawable")), "exemplars"),
)
MAP_DRAWABLE = Argument(
    "map-drawable",
    "drawable",
    "Map drawable",
    f"A channel or grey layer read as an edit map: {schema.MAP_CONVENTION}. A layer mask "
    "is read like an exemplar's: white takes the exemplar",
    "maps",
    (True,),
)
IGNORE_SELECTION = Argument(
    "ignore-selection",
    "boolean",
    "Ignore the selection",
    "Edit outside the selection too (otherwise outside it counts as white: kept)",
    "maps",
    (False,),
)
HOST_ADDRESS = Argument(
    "server",
    "string",
    "Address",
    "Where the PIXELS server (pixels serve) listens: host:port or ws://host:port",
    SERVER,
    (f"ws://{DEFAULT_HOST}:{DEFAULT_PORT}",),
)
TOKEN = Argument(
    "token",
    "string",
    "Token",
    "The server's token, if it was started with one (or set PIXELS_TOKEN before starting "
    "GIMP); never saved",
    SERVER,
    ("",),
)
MODEL = Argument(
    "model",
    "string",
    "Model",
    "The model to edit with, loaded first if the server has another; empty: the server's",
    SERVER,
    ("",),
)

ARGUMENTS = (
    SOURCE,
    *(argument for p in schema.PARAMS for argument in from_param(p)),
    HIDE,
    MAP_FROM,
    MAP_DRAWABLE,
    IGNORE_SELECTION,
    HOST_ADDRESS,
    TOKEN,
    MODEL,
)
NAMES = tuple(a.name for a in ARGUMENTS)
PARAM_NAMES = tuple(a.name for p in schema.PARAMS for a in from_param(p))  # a family's part
BY_NAME = {a.name: a for a in ARGUMENTS}
# What a result layer's record keeps besides the parameters: never the token.
RECORDED = ("source", "hide-exemplars", "edit-map", "ignore-selection", "server")


def with_mnemonics(labels: list[str], reserved: str = RESERVED) -> list[str]:
    """The labels with a mnemonic each while letters last, in label order: a word's first
    letter if one is free, else any free letter; never two alike, never a button's."""
    used, out = set(reserved), []
    for label in labels:
        letters = [i for i, c in enumerate(label) if c.isalnum()]
        starts = [i for i in letters if i == 0 or label[i - 1] == " "]
        free = [i for i in starts + letters if label[i].lower() not in used]
        text = label.replace("_", "__")
        if free:
            used.add(label[free[0]].lower())
            i = free[0] + label[: free[0]].count("_")  # where it is once underscores double
            text = f"{text[:i]}_{text[i:]}"
        out.append(text)
    return out


LABELS = dict(zip(NAMES, with_mnemonics([a.label for a in ARGUMENTS]), strict=True))


def mnemonic(label: str) -> str:
    """The letter a label of with_mnemonics underlines; '' when it has none."""
    found = re.match(r"(?:[^_]|__)*_([^_])", label)
    return found.group(1).lower() if found else ""


def relabelled(argument: Argument) -> str:
    """A family's own label for an argument, with a mnemonic that no other control
    registered (nor a button) has: the dialog's labels stay unique."""
    taken = {mnemonic(text) for name, text in LABELS.items() if name != argument.name}
    return with_mnemonics([argument.label], RESERVED + "".join(taken))[0]


def for_family(name: str | None) -> tuple[tuple[str, ...], tuple[Argument, ...]]:
    """What the dialog shows otherwise for the serving model's family (None, or one this
    plug-in does not know: any model, so nothing): the names of the arguments carrying
    a parameter it has no use for, and the family's version of those whose default,
    label or help differ. GIMP fixes the arguments themselves at registration."""
    chosen = schema.family(name if name in schema.FAMILIES else None)
    unused = (p for p in schema.PARAMS if p.name in chosen.unused)
    hidden = tuple(a.name for p in unused for a in from_param(p))
    changed = tuple(a for p in chosen.params() for a in from_param(p) if a not in ARGUMENTS)
    return hidden, changed


def settled(family: str | None, values: dict, restored: bool, before: str | None = None) -> dict:
    """The argument values the dialog changes for a family, the one before being
    `before`. A hidden one goes back to its default, the only value the server takes
    for it (the artist could not see it to clear it, and it is never sent otherwise);
    one still at any model's default or at the family before's moves to the family's,
    unless the values are an earlier edit's (run again: the same settings). A value the
    artist chose is kept."""
    hidden, changed = for_family(family)
    out = {name: BY_NAME[name].default for name in hidden if values[name] != BY_NAME[name].default}
    if not restored:
        old = {a.name: a.default for a in for_family(before)[1]}
        new = {a.name: a.default for a in changed}
        for name in old.keys() | new.keys():
            if name not in hidden and values[name] in (BY_NAME[name].default, old.get(name)):
                out[name] = new.get(name, BY_NAME[name].default)
        out = {name: value for name, value in out.items() if value != values[name]}
    return out


def params_of(values: dict) -> dict:
    """The schema's parameters from argument values (by argument name), unchecked."""
    params = {}
    for p in schema.PARAMS:
        if p.kind == schema.RANGE:
            params[p.name] = tuple(values[name] for name in range_names(p))
        elif p.kind == schema.SEED:
            params[p.name] = None if values[random_name(arg_name(p))] else values[arg_name(p)]
        else:
            params[p.name] = values[arg_name(p)]
    return params


def values_of(params: dict) -> dict:
    """Argument values that give `params` back: to run an earlier edit again."""
    values = {}
    for p in schema.PARAMS:
        if p.name not in params:
            continue
        value = params[p.name]
        if p.kind == schema.RANGE:
            values.update(zip(range_names(p), value, strict=True))
        elif p.kind == schema.SEED:
            values[random_name(arg_name(p))] = value is None
            if value is not None:
                values[arg_name(p)] = value
        else:
            values[arg_name(p)] = value
    return values
