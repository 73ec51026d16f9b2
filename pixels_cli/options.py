"""Command-line options: the edit's from the contract's schema (one flag per parameter,
named, typed, bounded and explained there), and the model's."""

import argparse

from pixels_contract import schema
from pixels_engine.catalog import ALIASES, BUILTIN, COMPILE_MODES, DEVICES, DTYPES
from pixels_engine.errors import PixelsError

TYPES = {
    schema.TEXT: str,
    schema.NUMBER: float,
    schema.INTEGER: int,
    schema.SEED: int,
    schema.CHOICE: str,
}


def number_pair(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give two numbers, e.g. 0.1,0.9") from None
    return low, high


def add_param_options(parser: argparse.ArgumentParser, groups=("edit", "maps")) -> None:
    """A flag for every schema parameter of `groups`, in the schema's groups."""
    for name, title in schema.GROUPS:
        if name in groups:
            group = parser.add_argument_group(title.lower())
            for param in schema.PARAMS:
                if param.group == name:
                    add_param(group, param)


def add_param(group, param: schema.Param) -> None:
    """A flag whose default is None, "the model's": each family has its own defaults."""
    if param.kind == schema.SEED:
        default = "a random seed, printed"
    elif isinstance(param.default, tuple):
        default = ",".join(schema.number_text(v) for v in param.default)
    else:
        default = repr(param.default)
    text = f"{param.help} ({param.bounds()}; default: {default}".replace("%", "%%")
    if any(dict(f.changes).get(param.name, {}).get("default") for f in schema.FAMILIES.values()):
        text += ", or the model's own"
    text += ")"
    if param.kind == schema.BOOLEAN:
        group.add_argument(param.flag, action="store_true", default=None, help=text)
    elif param.kind == schema.RANGE:
        group.add_argument(param.flag, type=number_pair, metavar="LOW,HIGH", help=text)
    else:
        choices = param.values or None
        group.add_argument(param.flag, type=TYPES[param.kind], choices=choices, help=text)


def given(args: argparse.Namespace) -> dict:
    """The edit parameters the user gave as flags; the model's defaults fill the rest."""
    names = (p.name for p in schema.PARAMS if getattr(args, p.name, None) is not None)
    return {name: getattr(args, name) for name in names}


def params_from(args: argparse.Namespace, family: str | None = None) -> dict:
    """The checked edit parameters for a model family (None: any model); PixelsError
    naming the flag at fault."""
    try:
        return schema.parse(given(args), family)
    except schema.Invalid as e:
        raise PixelsError(e.text, e.field) from None


def flag(field: str) -> str:
    """The flag a user typed for a field named in an error."""
    param = schema.BY_NAME.get(field)
    return param.flag if param is not None else "--" + field.replace("_", "-")


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="tiny",
        help=f"{', '.join(BUILTIN + tuple(ALIASES))}, a diffusers folder, "
        "a .safetensors file or a Hugging Face id",
    )
    parser.add_argument("--device", default="auto", choices=DEVICES)
    parser.add_argument(
        "--dtype",
        default="auto",
        choices=DTYPES,
        help="auto: fp32 on the CPU; on a GPU the model's own half precision (bf16 for SD3.x, "
        "FLUX.1 and Chroma, fp16 for the others)",
    )
    parser.add_argument(
        "--offload",
        action="store_true",
        help="keep each part of the model on the CPU until it runs: slower, but the GPU then "
        "needs only the largest part (for cards smaller than the model)",
    )
    parser.add_argument(
        "--compile",
        default="off",
        choices=COMPILE_MODES,
        help="compile the model's denoiser for faster steps: blocks (seconds to compile) or "
        "full (minutes; the fastest); compiled code is cached for the next start",
    )
