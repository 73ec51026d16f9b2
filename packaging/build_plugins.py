"""Build the plug-in bundles artists install, each carrying pixels_client and its vendored
websockets (pixels_client/vendor.py):

    dist/pixels-gimp/pixels_gimp/   the folder for GIMP 3's plug-ins directory
    dist/pixels-gimp.zip            the same, zipped: unzip it into the plug-ins directory
    dist/pixels-krita.zip           for Krita's Tools > Scripts > Import Python Plugin
                                    from File: pixels_krita.desktop and pixels_krita/

    python packaging/build_plugins.py [--dist DIR]
"""

import argparse
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pixels_cli.install import assembler  # noqa: E402

GIMP, KRITA = "pixels-gimp", "pixels-krita"


def zip_folder(folder: Path) -> Path:
    """FOLDER.zip holding what is inside FOLDER at its root."""
    return Path(shutil.make_archive(str(folder), "zip", root_dir=folder))


def build(dist: Path) -> dict[str, Path]:
    """Write the bundles into `dist` (replacing old ones); return them by name."""
    gimp = dist / GIMP
    shutil.rmtree(gimp, ignore_errors=True)
    assembler("gimp").assemble(gimp)
    with_desktop = dist / "build" / KRITA
    shutil.rmtree(with_desktop, ignore_errors=True)
    assembler("krita").assemble(with_desktop)
    krita = zip_folder(with_desktop).replace(dist / f"{KRITA}.zip")
    return {GIMP: gimp, f"{GIMP}.zip": zip_folder(gimp), f"{KRITA}.zip": krita}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    for path in build(parser.parse_args().dist.resolve()).values():
        print(path)


if __name__ == "__main__":
    main()
