"""Every edit parameter, declared once, and the conventions an edit's layers follow.

A `Param` holds what each front end needs to offer, check and explain one parameter:
its type, default, bounds or choices, unit, the label a dialog shows and a sentence of
help. `parse` turns a request's parameters into complete, checked values, or raises
`Invalid` naming the parameter; each front end then says the name in its own words (the
CLI `--grow`, the protocol `params.grow`, GIMP and Krita the control's label).
"""

import json
import math
from dataclasses import dataclass, replace

# --- the map convention ------------------------------------------------------------------
# An edit map is grey: white (1) keeps the source, black (0) takes the exemplar, grey is
# released to the model late (darker: earlier, so more change). A map layer's transparent
# parts count as white: an unpainted map keeps everything. Values within MAP_TOLERANCE of
# black or white count as black or white (JPEG maps and soft brushes rarely hit them).
MAP_TOLERANCE = 0.02
MAP_CONVENTION = (
    "white keeps the source, black takes the exemplar, grey is released to the model late "
    "(darker changes more); transparent counts as white"
)

# --- what a host does with a selection and with the result --------------------------------
# A selection limits the edit, softly where it is soft: where it has the value s (0 outside,
# 1 fully selected) every edit map m a host sends becomes limit_map(m, s) = 1 - (1 - m) x s,
# so a pixel a quarter selected changes as a quarter-dark map says and an unselected pixel
# is kept. An exemplar whose map the server would make from its alpha gets that map as its
# own, limited the same way: the host asks the server for it (a map job with the map tools
# off, since they act after the limit, on every map) and sends it. The exemplar's pixels
# are never cut by the selection. The map a host shows ("Show edit map") is the server's
# map of the edit as sent. The result layer is opaque exactly where a returned pixel
# differs from the source and the selection is above 0, transparent elsewhere: a map tool
# (grow, feather) may spread a map past the selection, yet nothing outside it changes.
SELECTION_RULE = (
    "a selection limits the edit: where it is s (0 to 1) every map m, an exemplar's map "
    "made from its alpha included, becomes 1 - (1 - m) x s; the result layer is opaque "
    "where a pixel changed inside the selection and transparent elsewhere"
)


def limit_map(m: float, s: float) -> float:
    """An edit map's value under a selection's value `s` (SELECTION_RULE)."""
    return 1.0 - (1.0 - m) * s


# The map tools: they act on every map in this order, after a selection's limit, on an
# exemplar's map made from its alpha too (it is made before them, with `transition`).
MAP_TOOLS = ("invert", "levels", "gamma", "grow", "feather", "quantise")


# The exemplar layers an edit used usually lie above the source and would cover the result
# placed above it; the hosts offer to hide them (on by default) in the edit's undo step.
HIDE_EXEMPLARS = (
    "Hide exemplars",
    "Hide the exemplar layers this edit used (in the same undo step), so that the result "
    "shows at once",
)

# --- seeds -------------------------------------------------------------------------------
# The seed of the noise: an unsigned 32-bit number, which every host's controls can hold.
SEED_MIN = 0
SEED_MAX = 2**32 - 1

# Kinds of parameter, and so of control.
TEXT, NUMBER, INTEGER, BOOLEAN, CHOICE, RANGE, SEED = (
    "text", "number", "integer", "boolean", "choice", "range", "seed",
)  # fmt: skip
# Groups, in the order dialogs show them: (name, title).
GROUPS = (("edit", "Edit"), ("maps", "Edit maps"))


class Invalid(ValueError):
    """A parameter's value breaks the contract. `field` is the parameter's name (None for
    the parameters as a whole); `text` says what is wrong without naming it, so that each
    front end can name it in its own words."""

    def __init__(self, field: str | None, text: str, code: str = "invalid_field"):
        super().__init__(f"{field}: {text}" if field else text)
        self.field, self.text, self.code = field, text, code


@dataclass(frozen=True)
class Param:
    name: str  # on the wire, in EditSettings, and (dashed) as the CLI flag
    kind: str
    default: object
    label: str  # what a dialog calls it
    help: str
    group: str
    minimum: float | None = None
    maximum: float | None = None
    above_minimum: bool = False  # the minimum itself is not allowed
    excluded: tuple = ()  # values inside the bounds that are not allowed
    choices: tuple[tuple[str, str], ...] = ()  # (value, label)
    unit: str = ""
    max_length: int = 0  # text: characters
    costly: bool = False  # the maximum bounds the work: over it is too_large, not invalid
    step: float = 1.0  # a control's increment
    digits: int = 0  # decimals a control shows
    only: tuple[str, ...] = ()  # the model families that take it; empty: every family

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(value for value, _ in self.choices)

    def bounds(self) -> str:
        """The allowed values in words: '-256 to 256 px', 'above 0, at most 1'."""
        unit = f" {self.unit}" if self.unit else ""
        if self.kind == CHOICE:
            return "one of " + ", ".join(self.values)
        if self.kind == TEXT:
            return f"text of at most {self.max_length} characters"
        if self.kind == BOOLEAN:
            return "true or false"
        low, high = number_text(self.minimum), number_text(self.maximum)
        if self.kind == SEED:
            return f"{low} to {high}, or none for a random seed"
        span = f"above {low}, at most {high}" if self.above_minimum else f"{low} to {high}"
        if self.kind == RANGE:
            return f"two numbers LOW, HIGH with {low} <= LOW < HIGH <= {high}"
        excluded = "".join(f" except {number_text(v)}" for v in self.excluded)
        return f"{span}{unit}{excluded}"

    def check(self, value: object) -> object:
        """The value, normalised (a whole float becomes an int); Invalid if it is wrong."""
        if self.kind == TEXT:
            return self.check_text(value)
        if self.kind == BOOLEAN:
            if not isinstance(value, bool):
                raise Invalid(self.name, f"must be true or false, not {shown(value)}")
            return value
        if self.kind == CHOICE:
            if value not in self.values:
                raise Invalid(self.name, f"must be {self.bounds()}, not {shown(value)}")
            return value
        if self.kind == RANGE:
            return self.check_range(value)
        if self.kind == SEED and value is None:
            return None
        return self.check_number(value)

    def check_text(self, value: object) -> str:
        if not isinstance(value, str):
            raise Invalid(self.name, f"must be text, not {shown(value)}")
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate, which no tokenizer can read
            raise Invalid(self.name, "not valid Unicode text (it holds a lone surrogate)") from None
        if len(value) > self.max_length:
            text = f"has {len(value)} characters; at most {self.max_length}"
            raise Invalid(self.name, text, "too_large")
        return value

    def check_number(self, value: object) -> int | float:
        whole = self.kind in (INTEGER, SEED)
        if whole and isinstance(value, float) and value.is_integer():
            value = int(value)
        if not is_number(value) or (whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            raise Invalid(self.name, f"must be {kind}, {self.bounds()}; not {shown(value)}")
        low = self.minimum if self.minimum is not None else -math.inf
        high = self.maximum if self.maximum is not None else math.inf
        below = value <= low if self.above_minimum else value < low
        if below or value > high or value in self.excluded:
            code = "too_large" if self.costly and value > high else "invalid_field"
            raise Invalid(self.name, f"must be {self.bounds()}, not {shown(value)}", code)
        return value

    def check_range(self, value: object) -> tuple[float, float]:
        if not (isinstance(value, list | tuple) and len(value) == 2):
            raise Invalid(self.name, f"must be {self.bounds()}, not {shown(value)}")
        low, high = value
        if not (is_number(low) and is_number(high)):
            raise Invalid(self.name, f"must be {self.bounds()}, not {shown(value)}")
        if not self.minimum <= low < high <= self.maximum:
            raise Invalid(self.name, f"must be {self.bounds()}, not {shown(list(value))}")
        return float(low), float(high)


def is_number(value: object) -> bool:
    """An int (of any size: JSON's 10**400 is one) or a finite float, not a bool."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return False
    return isinstance(value, int) or math.isfinite(value)


def number_text(value: float | None) -> str:
    if value is None:
        return "any"
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def shown(value: object) -> str:
    """A value as an error message quotes it: short, whatever a hostile client sent."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


THRESHOLD_CHOICES = (
    ("linear", "Linear (the paper's)"),
    ("quadratic", "Quadratic (held longer)"),
    ("cubic", "Cubic (held longest)"),
    ("log", "Log (released early)"),
    ("sigmoid", "Sigmoid (the official code's)"),
)

PARAMS = (
    Param("prompt", TEXT, "", "Prompt", "What the edited area should show (optional)", "edit",
          max_length=2000),
    Param("negative_prompt", TEXT, "", "Negative prompt", "What to keep out of the edit",
          "edit", max_length=2000),
    Param("guidance", NUMBER, 5.0, "Guidance",
          "How strongly the prompts steer the edit; 1 or less turns guidance off and halves "
          "the cost", "edit", minimum=0.0, maximum=50.0, step=0.5, digits=1),
    Param("guidance_rescale", NUMBER, 0.0, "Guidance rescale",
          "Pulls strongly guided edits back toward the prompt's own contrast, against "
          "burnt colours (0 is off; about 0.7 suits v-prediction models)", "edit",
          minimum=0.0, maximum=1.0, step=0.05, digits=2, only=("sd",)),
    Param("strength", NUMBER, 0.6, "Strength",
          "Share of the noise schedule that is run: higher changes more", "edit",
          minimum=0.0, maximum=1.0, above_minimum=True, step=0.05, digits=2),
    Param("steps", INTEGER, 30, "Steps",
          "Length of the noise schedule; int(steps x strength) steps are run", "edit",
          minimum=1, maximum=1000, unit="steps", costly=True),
    Param("seed", SEED, None, "Seed",
          "The noise seed: the same seed and settings give the same edit; none draws one",
          "edit", minimum=SEED_MIN, maximum=SEED_MAX),
    Param("threshold", CHOICE, "linear", "Release curve",
          "When each grey level of an edit map is released to the model", "edit",
          choices=THRESHOLD_CHOICES),
    Param("mode", CHOICE, "single", "Exemplars",
          "All exemplars in one pass, or one after another (the official code's only way)",
          "edit", choices=(("single", "All at once"), ("chain", "One after another"))),
    Param("context", NUMBER, 0.25, "Context",
          "Surroundings the model sees around the edited area, times its longer side",
          "edit", minimum=0.0, maximum=2.0, step=0.05, digits=2),
    Param("transition", NUMBER, 32.0, "Transition",
          "Width of the grey ramp around an exemplar in maps made from its alpha", "maps",
          minimum=0.0, maximum=1024.0, unit="px", step=1.0, digits=0),
    Param("invert", BOOLEAN, False, "Invert maps", "Swap what is kept and what changes",
          "maps"),
    Param("levels", RANGE, (0.0, 1.0), "Levels",
          "Stretch the map's grey range LOW to HIGH to black to white", "maps",
          minimum=0.0, maximum=1.0, step=0.05, digits=2),
    Param("gamma", NUMBER, 1.0, "Gamma", "Above 1 darkens the map's greys: more change",
          "maps", minimum=0.1, maximum=10.0, step=0.1, digits=2),
    Param("grow", INTEGER, 0, "Grow", "Grow the edited (dark) area; negative shrinks it",
          "maps", minimum=-256, maximum=256, unit="px"),
    Param("feather", NUMBER, 0.0, "Feather", "Soften the map's edges over about this width",
          "maps", minimum=0.0, maximum=256.0, unit="px", step=1.0, digits=0),
    Param("quantise", INTEGER, 0, "Quantise",
          "Round the map to this many grey levels; 0 leaves it as it is", "maps",
          minimum=0, maximum=256, excluded=(1,), unit="levels"),
)  # fmt: skip
BY_NAME = {p.name: p for p in PARAMS}
DEFAULTS = {p.name: p.default for p in PARAMS}


@dataclass(frozen=True)
class Family:
    """What one model family takes, where it differs from the parameters above: its own
    defaults and words (`changes`, per parameter), the parameters it has no use for
    (`takes_no`; a parameter made for some families only says so itself), and whether a
    strength may run no step (the UNet pipelines run int(n x s) steps; the flow ones
    n - int(n - n x s), at least one)."""

    name: str
    title: str
    changes: tuple[tuple[str, dict], ...] = ()
    takes_no: tuple[str, ...] = ()
    whole_steps: bool = True

    @property
    def unused(self) -> tuple[str, ...]:
        """The parameters this family has no use for, in the schema's order."""
        return tuple(
            p.name
            for p in PARAMS
            if p.name in self.takes_no or (p.only and self is not ANY and self.name not in p.only)
        )

    def params(self) -> tuple[Param, ...]:
        """The parameters this family takes, with its defaults and words."""
        changes = dict(self.changes)
        return tuple(
            replace(p, **changes.get(p.name, {})) for p in PARAMS if p.name not in self.unused
        )


FAMILIES = {
    f.name: f
    for f in (
        Family("sd", "Stable Diffusion 1.x/2.x and SDXL"),
        Family(
            "sd3",
            "Stable Diffusion 3.x",
            (("guidance", {"default": 3.5}), ("steps", {"default": 28})),
            whole_steps=False,
        ),
        Family(
            "flux-dev",
            "FLUX.1 dev",
            (
                ("guidance", {
                    "default": 3.5,
                    "label": "Guidance (distilled)",
                    "help": "FLUX.1-dev's guidance input: how closely it follows the "
                    "prompt; one model call a step at any value",
                }),
                ("steps", {"default": 28}),
            ),
            takes_no=("negative_prompt",),
            whole_steps=False,
        ),
        Family(
            "flux-schnell",
            "FLUX.1 schnell",
            (("steps", {
                "default": 4,
                "help": "Length of the noise schedule (schnell is made for 1 to 4); an "
                "edit map then has at most that many grey levels of release",
            }),),
            takes_no=("negative_prompt", "guidance"),
            whole_steps=False,
        ),
        Family(
            "chroma",
            "Chroma",
            (("guidance", {"default": 4.0}), ("steps", {"default": 26})),
            whole_steps=False,
        ),
        Family(
            "kandinsky3",
            "Kandinsky 3",
            (
                ("guidance", {
                    "default": 3.0,
                    "help": "How strongly the prompts steer the edit, in Kandinsky's form "
                    "(g + 1) x prompt - g x negative; 1 or less turns it off",
                }),
                ("steps", {"default": 25}),
            ),
        ),
    )
}  # fmt: skip
# Any model: every parameter at its generic default, for a client that does not yet
# know which model will run its edit.
ANY = Family("any", "any model")


def family(name: str | None) -> Family:
    return ANY if name is None else FAMILIES[name]


def parse(raw: object, family_name: str | None = None) -> dict:
    """Complete, checked parameters from a request's `params` for a model family (None:
    any model). Absent names take the family's defaults; unknown names are refused (a
    typo must not be ignored), and so is a value for a parameter the family has no use
    for (FLUX.1 takes no negative prompt) unless it is that parameter's neutral default.
    Every parameter is in the result, the unused ones at their defaults. Raises Invalid."""
    if not isinstance(raw, dict):
        raise Invalid(None, f"must be an object of edit parameters, not {shown(raw)}")
    unknown = sorted(name for name in raw if name not in BY_NAME)
    if unknown:
        name = shown(unknown[0]) if not isinstance(unknown[0], str) else unknown[0][:40]
        raise Invalid(name, f"not a parameter; the parameters are {', '.join(BY_NAME)}")
    chosen = family(family_name)
    for name in chosen.unused:
        if name in raw and raw[name] != BY_NAME[name].default:
            raise Invalid(name, f"{chosen.title} takes none; leave it out")
    values = {p.name: p.check(raw[p.name]) if p.name in raw else p.default for p in chosen.params()}
    check_together(values, chosen)
    return {**DEFAULTS, **values}


def check_together(values: dict, chosen: Family = ANY) -> None:
    """The rules that tie parameters together."""
    if chosen.whole_steps and int(values["steps"] * values["strength"]) < 1:
        raise Invalid(
            "strength",
            f"{number_text(values['strength'])} of {values['steps']} steps runs no step "
            "(int(steps x strength) is 0); raise the strength or the steps",
        )


def as_json(family_name: str | None = None) -> dict:
    """The schema as data, for clients in other languages (GET /v1/schema): the
    parameters a family takes (any model's by default), with their defaults and words."""
    chosen = family(family_name)
    return {
        "family": chosen.name,
        "params": [
            {
                "name": p.name,
                "kind": p.kind,
                "default": list(p.default) if isinstance(p.default, tuple) else p.default,
                "label": p.label,
                "help": p.help,
                "group": p.group,
                "minimum": p.minimum,
                "maximum": p.maximum,
                "above_minimum": p.above_minimum,
                "excluded": list(p.excluded),
                "choices": [list(c) for c in p.choices],
                "unit": p.unit,
                "max_length": p.max_length,
                "bounds": p.bounds(),
            }
            for p in chosen.params()
        ],
        "unused": list(chosen.unused),
        "families": {name: f.title for name, f in FAMILIES.items()},
        "groups": [list(g) for g in GROUPS],
        "map_convention": MAP_CONVENTION,
        "map_tolerance": MAP_TOLERANCE,
        "seed": [SEED_MIN, SEED_MAX],
    }


def table() -> str:
    """The parameters as docs/protocol.md lists them (a test keeps the two equal)."""
    rows = ["| name | type | default | allowed | meaning |", "|---|---|---|---|---|"]
    for p in PARAMS:
        default = "null" if p.default is None else json_text(p.default)
        allowed = p.bounds() if p.kind != CHOICE else ", ".join(f"`{v}`" for v in p.values)
        rows.append(f"| `{p.name}` | {p.kind} | `{default}` | {allowed} | {p.help} |")
    return "\n".join(rows)


def json_text(value: object) -> str:
    return json.dumps(list(value) if isinstance(value, tuple) else value)


if __name__ == "__main__":  # python -m pixels_contract.schema: the table for the docs
    print(table())
