"""Assemble the installable Krita plug-in: pixels_krita.desktop and the package
pixels_krita/, with a copy of pixels_client (and its vendored websockets) inside it,
so that the plug-in runs on Krita's own Python with nothing else installed.

    python plugin_krita/assemble.py OUT_DIR     # what goes into the pykrita folder

packaging/build_plugins.py zips it into pixels-krita.zip, the file Krita's Tools >
Scripts > Import Python Plugin from File takes; the host tests install that zip.
"""

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # pixels_client, when run as a script

from pixels_client import vendor  # noqa: E402

NAME = "pixels_krita"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc")


def assemble(dest: Path) -> Path:
    """Write NAME.desktop and NAME/ (with pixels_client and websockets) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / f"{NAME}.desktop", dest)
    package = dest / NAME
    shutil.rmtree(package, ignore_errors=True)
    shutil.copytree(HERE / NAME, package, ignore=IGNORE)
    vendor.copy_client(package)
    return dest


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python plugin_krita/assemble.py OUT_DIR")
    print(assemble(Path(sys.argv[1])))
