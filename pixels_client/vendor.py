"""Vendor websockets into pixels_client/_vendor, so that the client runs in a Python that
has only the standard library (GIMP's, Krita's).

    python -m pixels_client.vendor [TARGET]     # run by the plug-in packaging step

The copy is a pinned websockets, not the installed one: the server needs websockets 17,
which requires Python 3.11, while Krita 5.2 (and some GIMP builds) ship Python 3.10.
websockets 15.0.1 runs on Python 3.9 and later and has the `sync.client` the client uses.
Its wheel is fetched once with pip into $PIXELS_WHEEL_CACHE (default
~/.cache/pixels/wheels), so later builds need no network.
"""

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

PACKAGE = Path(__file__).parent
CONTRACT = PACKAGE.parent / "pixels_contract"  # stdlib only: the plug-ins carry it too
TARGET = PACKAGE / "_vendor"
VERSION = "15.0.1"
# Only the pure-Python sources: the optional C speed-up would tie the copy to one Python.
SKIP_SUFFIXES = (".so", ".pyd", ".c")


def wheel_cache() -> Path:
    return Path(os.environ.get("PIXELS_WHEEL_CACHE") or Path.home() / ".cache/pixels/wheels")


def wheel(version: str = VERSION) -> Path:
    """The cached websockets wheel of `version`, downloaded with pip if it is not there."""
    cache = wheel_cache()
    pattern = f"websockets-{version}-*.whl"
    found = sorted(cache.glob(pattern))
    if not found:
        pip = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:"]
        done = subprocess.run(
            [*pip, "-d", str(cache), f"websockets=={version}"], capture_output=True, text=True
        )
        found = sorted(cache.glob(pattern))
        if done.returncode or not found:
            raise RuntimeError(
                f"cannot download websockets {version} with pip ({done.stderr.strip()[-300:]})."
                f" Put a websockets-{version} wheel into {cache} and build again."
            )
    return found[0]


def vendor(target: Path = TARGET, version: str = VERSION) -> Path:
    """Write target/websockets (replacing an old copy) from the pinned wheel; return it."""
    dest = target / "websockets"
    shutil.rmtree(dest, ignore_errors=True)
    with zipfile.ZipFile(wheel(version)) as z:
        for name in z.namelist():
            if name.startswith("websockets/") and not name.endswith(SKIP_SUFFIXES):
                z.extract(name, target)
    (target / "__init__.py").touch()
    return dest


def copy_client(folder: Path) -> Path:
    """Write folder/pixels_client, with websockets vendored in and without this build-time
    module, and folder/pixels_contract beside it (replacing old copies): what the
    plug-ins carry, importable once `folder` is on sys.path. Returns the client's copy."""
    client, contract = folder / "pixels_client", folder / "pixels_contract"
    skip = shutil.ignore_patterns("__pycache__", "*.pyc", "_vendor", "vendor.py")
    for source, dest in ((PACKAGE, client), (CONTRACT, contract)):
        shutil.rmtree(dest, ignore_errors=True)
        shutil.copytree(source, dest, ignore=skip)
    vendor(client / "_vendor")
    return client


if __name__ == "__main__":
    print(f"vendored websockets {VERSION} into {vendor(*map(Path, sys.argv[1:2]))}")
