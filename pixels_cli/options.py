"""Command-line options shared by the subcommands, and their checks."""

import argparse

from pixels_engine.maps import MapOps
from pixels_engine.models import ALIASES, BUILTIN


def number_list(text: str) -> tuple[float, float]:
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: give two numbers, e.g. 0.1,0.9") from None
    return low, high


def add_map_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("map tools (applied to every edit map, in this order)")
    group.add_argument("--invert", action="store_true", help="swap black and white")
    group.add_argument(
        "--levels",
        type=number_list,
        default=(0.0, 1.0),
        metavar="LOW,HIGH",
        help="stretch [LOW, HIGH] to [0, 1]",
    )
    group.add_argument("--gamma", type=float, default=1.0, help="above 1: more change")
    group.add_argument(
        "--grow",
        type=int,
        default=0,
        metavar="PX",
        help="grow the edited (dark) area; negative shrinks it",
    )
    group.add_argument("--feather", type=float, default=0.0, metavar="PX", help="soften edges")
    group.add_argument(
        "--quantise", type=int, default=0, metavar="N", help="round to N grey levels"
    )
    group.add_argument(
        "--transition",
        type=float,
        default=32.0,
        metavar="PX",
        help="width of the ramp in maps made from an exemplar's alpha",
    )


def map_ops(args: argparse.Namespace) -> MapOps:
    low, high = args.levels
    return MapOps(
        invert=args.invert,
        low=low,
        high=high,
        gamma=args.gamma,
        grow=args.grow,
        feather=args.feather,
        quantise=args.quantise,
    )


def add_model_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model",
        default="tiny",
        help=f"{', '.join(BUILTIN + tuple(ALIASES))}, a diffusers folder, "
        "a .safetensors file or a Hugging Face id",
    )
    parser.add_argument("--device", default="auto", choices=["auto", "cuda", "mps", "cpu"])
    parser.add_argument("--dtype", default="auto", choices=["auto", "fp32", "fp16", "bf16"])
