"""Build the one-folder PyInstaller program `dist/pixels/pixels` (run `pixels serve` with
it) from the Python that runs this script, so that artists need no Python. It carries
the plug-in bundles too, for `pixels install-plugin`.

    python packaging/build_server.py [--dist DIR]

It bundles whichever torch that Python has: the CPU build by default (what `make`
installs), a CUDA build if one was installed into the venv first. It prints which, and
writes it to DIR/pixels/BUILD.txt.
"""

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from build_plugins import build as build_bundles  # noqa: E402

from pixels_cli.install import CARRIED  # noqa: E402
from pixels_cli.serve import torch_build  # noqa: E402

ENTRY = ROOT / "packaging" / "pixels_entry.py"
NAME = "pixels"
# Packages that read their own version (importlib.metadata) at import time or check each
# other's: without their metadata the frozen program stops at import.
METADATA = (
    "torch", "diffusers", "transformers", "huggingface_hub", "tokenizers", "safetensors",
    "accelerate", "numpy", "scipy", "pillow", "tqdm", "regex", "requests", "packaging",
    "filelock", "pyyaml", "websockets", "flask", "werkzeug", "jinja2", "itsdangerous", "click",
)  # fmt: skip
# Imported lazily by name (diffusers' and transformers' lazy modules), so not found by
# PyInstaller's import analysis.
# Optional parts the artists' program leaves out: Ray is for `pixels batch --ray` only.
EXCLUDED = ("ray",)
SUBMODULES = (
    "diffusers",
    "server",
    "pixels_contract",
    "pixels_engine",
    "pixels_cli",
    "pixels_client",
)


def pyinstaller_args(dist: Path, work: Path, carried: list[Path]) -> list[str]:
    args = [str(ENTRY), "--name", NAME, "--onedir", "--noconfirm", "--clean"]
    args += [arg for path in carried for arg in ("--add-data", f"{path}{os.pathsep}{CARRIED.name}")]
    args += ["--distpath", str(dist), "--workpath", str(work), "--specpath", str(work)]
    # The model configs the tiny model is built from at first use (collect_data_files
    # misses them: its helper process does not see --paths).
    configs = ROOT / "pixels_engine" / "configs"
    args += ["--paths", str(ROOT), "--add-data", f"{configs}{os.pathsep}pixels_engine/configs"]
    args += [f"--copy-metadata={name}" for name in METADATA]
    args += [f"--collect-submodules={name}" for name in SUBMODULES]
    args += [f"--exclude-module={name}" for name in EXCLUDED]
    return args


def build(dist: Path) -> Path:
    """Build DIST/pixels/ and return the program's path."""
    import PyInstaller.__main__

    variant = torch_build()
    print(f"building {NAME} with torch {variant}", flush=True)
    start = time.monotonic()
    work = dist.parent / "build"
    # The plug-in bundles, so that `pixels install-plugin gimp|krita` needs no download
    # (outside PyInstaller's work folder, which --clean empties).
    bundles = build_bundles(work / "bundles")
    carried = [bundles["pixels-gimp.zip"], bundles["pixels-krita.zip"]]
    PyInstaller.__main__.run(pyinstaller_args(dist, work / NAME, carried))
    folder = dist / NAME
    (folder / "BUILD.txt").write_text(f"torch {variant}\n")
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"built {folder} in {time.monotonic() - start:.0f} s, {size / 2**20:.0f} MiB")
    return folder / NAME


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dist", type=Path, default=ROOT / "dist")
    print(build(parser.parse_args().dist.resolve()))


if __name__ == "__main__":
    main()
