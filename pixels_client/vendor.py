"""Copy the installed websockets package into pixels_client/_vendor, so that the client
runs in a Python that has only the standard library (GIMP's, Krita's).

    python -m pixels_client.vendor      # run by the plug-in packaging step
"""

import shutil
from pathlib import Path

import websockets

TARGET = Path(__file__).parent / "_vendor"


def vendor(target: Path = TARGET) -> Path:
    """Copy websockets' pure-Python sources (its optional C speed-up is left out: it
    would tie the copy to one Python build) and return the copy's folder."""
    source = Path(websockets.__file__).parent
    dest = target / "websockets"
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(
        source, dest, ignore=shutil.ignore_patterns("*.so", "*.pyd", "*.c", "__pycache__")
    )
    (target / "__init__.py").touch()
    return dest


if __name__ == "__main__":
    print(f"vendored websockets into {vendor()}")
