"""Assemble the installable Krita plug-in: pixels_krita.desktop and the package
pixels_krita/, with a copy of pixels_client (and its vendored websockets) inside it,
so that the plug-in runs on Krita's own Python with nothing else installed.

    python plugin_krita/assemble.py OUT_DIR         # what goes into the pykrita folder
    python plugin_krita/assemble.py OUT_DIR --zip   # and OUT_DIR.zip, for Krita's
                                                    # Tools > Scripts > Import Python Plugin

The tests install the folder into the chroot's Krita profile; the packaging step builds
the zip.
"""

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))  # pixels_client, when run as a script

from pixels_client import vendor  # noqa: E402

NAME = "pixels_krita"
IGNORE = shutil.ignore_patterns("__pycache__", "*.pyc", "_vendor")


def assemble(dest: Path) -> Path:
    """Write NAME.desktop and NAME/ (with pixels_client and websockets) into `dest`."""
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / f"{NAME}.desktop", dest)
    package = dest / NAME
    shutil.rmtree(package, ignore_errors=True)
    shutil.copytree(HERE / NAME, package, ignore=IGNORE)
    client = package / "pixels_client"
    shutil.copytree(Path(vendor.__file__).parent, client, ignore=IGNORE)
    (client / "vendor.py").unlink()  # the build-time tool, not needed in Krita
    vendor.vendor(client / "_vendor")
    return dest


def make_zip(folder: Path, archive: Path) -> Path:
    """The zip Krita imports: NAME.desktop and NAME/ at its root."""
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as z:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                z.write(path, path.relative_to(folder).as_posix())
    return archive


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path, help="folder to write the plug-in into")
    parser.add_argument("--zip", action="store_true", help="also write OUT.zip")
    args = parser.parse_args()
    folder = assemble(args.out)
    print(folder)
    if args.zip:
        print(make_zip(folder, args.out.with_suffix(".zip")))


if __name__ == "__main__":
    main()
