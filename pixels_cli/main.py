"""`pixels SUBCOMMAND ...`: edit, map, demo, serve.

Errors a user can fix are printed as one line and exit with status 2; no traceback.
"""

import argparse
import sys

from pixels_engine.errors import PixelsError

from . import demo, edit, maptool, serve


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="pixels",
        description="PIXELS Studio: exemplar-based image editing with progressive latent surgery.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (edit, maptool, demo, serve):
        module.register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args) or 0
    except PixelsError as e:
        print(f"pixels: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("pixels: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
