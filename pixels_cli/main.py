"""`pixels SUBCOMMAND ...`: edit, batch, map, demo, serve, install-plugin.

Errors a user can fix are printed as one line and exit with status 2; no traceback.
"""

import argparse
import os
import sys
import warnings

# Library advice for developers (deprecations, optional torchvision) is noise to a user;
# this must be set before transformers is first imported.
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
warnings.filterwarnings("ignore", category=FutureWarning)
warnings.filterwarnings("ignore", category=UserWarning, module="huggingface_hub")

from pixels_engine.errors import PixelsError  # noqa: E402

from . import batch, demo, edit, install, maptool, serve  # noqa: E402
from .options import flag  # noqa: E402


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixels",
        description="PIXELS Studio: exemplar-based image editing with progressive latent surgery.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (edit, batch, maptool, demo, serve, install):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except PixelsError as e:
        where = f"{flag(e.field)}: " if e.field else ""
        print(f"pixels: error: {where}{e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pixels: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
