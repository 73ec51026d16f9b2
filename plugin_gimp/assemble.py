"""Assemble the GIMP plug-in folder users drop into their plug-ins directory:

    pixels_gimp/
        pixels_gimp.py          the plug-in (executable: GIMP runs it)
        canvas.py, ...          its GIMP-free modules
        pixels_client/          the client, with websockets vendored in _vendor/

    python plugin_gimp/assemble.py DEST     # makes DEST/pixels_gimp

GIMP's Python has only the standard library and gi, hence the copies. The tests install
this folder into the real GIMP; the packaging step zips it.
"""

import shutil
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from pixels_client import vendor  # noqa: E402

NAME = "pixels_gimp"
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc")


def assemble(dest: Path) -> Path:
    """Write DEST/pixels_gimp (replacing an old one) and return its path."""
    folder = Path(dest) / NAME
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(HERE / NAME, folder, ignore=SKIP)
    vendor.copy_client(folder)
    (folder / f"{NAME}.py").chmod(0o755)
    return folder


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python plugin_gimp/assemble.py DEST")
    print(assemble(Path(sys.argv[1])))
