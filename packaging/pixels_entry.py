"""The frozen program's entry point: the whole `pixels` command (`pixels serve`, ...)."""

import sys

from pixels_cli.main import main

if __name__ == "__main__":
    sys.exit(main())
