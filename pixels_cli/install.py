"""`pixels install-plugin gimp|krita`: copy a plug-in into the host's profile.

pixels install-plugin gimp                       # the bundle this pixels carries
pixels install-plugin krita --bundle pixels-krita.zip
pixels install-plugin gimp --profile DIR         # another plug-ins folder

GIMP keeps one profile per release (GIMP/3.0, GIMP/3.2, ...) and reads plug-ins only from
its own: the GIMP plug-in goes into every GIMP 3 profile there is.

Without --bundle: the built program (packaging/build_server.py) carries the bundles;
from a git checkout (installed editable by `make`) the plug-in is assembled from its
plugin_gimp/ or plugin_krita/ folder.
"""

import argparse
import importlib.util
import os
import re
import shutil
import sys
import tempfile
import zipfile
from pathlib import Path

from pixels_engine.errors import PixelsError

ROOT = Path(__file__).resolve().parent.parent
CARRIED = ROOT / "plugins"  # the built program's copies of the bundles
# What a bundle holds at its root, and what is copied into the plug-ins folder.
ENTRIES = {"gimp": ("pixels_gimp",), "krita": ("pixels_krita.desktop", "pixels_krita")}
GIMP_PROFILE = re.compile(r"3\.\d+")  # GIMP 3's profile folders, named by its minor version
NEXT = {
    "gimp": "Restart GIMP; the plug-in is Filters > PIXELS > Exemplar Edit (and Show Edit Map).",
    "krita": (
        "Enable it in Krita (Settings > Configure Krita > Python Plugin Manager: PIXELS, "
        "or add enable_pixels_krita=true under [python] in {kritarc}), restart Krita, "
        "then Settings > Dockers > PIXELS."
    ),
}


def register(commands) -> None:
    parser = commands.add_parser(
        "install-plugin",
        help="install the GIMP or Krita plug-in into your profile",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("host", choices=sorted(ENTRIES), help="the painting program")
    parser.add_argument("--profile", type=Path, help="plug-ins folder (default: the host's)")
    parser.add_argument("--bundle", type=Path, help="a built bundle (zip or folder) to install")
    parser.set_defaults(run=run)


def config_dirs(system: str, env: dict, home: Path) -> dict[str, Path]:
    """The per-user folders the hosts use on `system` (a sys.platform value); for GIMP,
    the folder that holds its profiles (see gimp_plugin_dirs)."""
    if system.startswith("win"):
        appdata = Path(env.get("APPDATA") or home / "AppData" / "Roaming")
        local = Path(env.get("LOCALAPPDATA") or home / "AppData" / "Local")
        return {
            "gimp": appdata / "GIMP",
            "krita": appdata / "krita" / "pykrita",
            "kritarc": local / "kritarc",
        }
    if system == "darwin":
        support = home / "Library" / "Application Support"
        return {
            "gimp": support / "GIMP",
            "krita": support / "krita" / "pykrita",
            "kritarc": home / "Library" / "Preferences" / "kritarc",
        }
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
    return {
        "gimp": config / "GIMP",
        "krita": data / "krita" / "pykrita",
        "kritarc": config / "kritarc",
    }


def gimp_plugin_dirs(gimp: Path) -> list[Path]:
    """The plug-ins folders of every GIMP 3 profile in `gimp` (3.2, 3.0, ...), newest first."""
    if not gimp.is_dir():
        return []
    profiles = [p for p in gimp.iterdir() if p.is_dir() and GIMP_PROFILE.fullmatch(p.name)]
    profiles.sort(key=lambda p: tuple(int(n) for n in p.name.split(".")), reverse=True)
    return [p / "plug-ins" for p in profiles]


def destinations(host: str, dirs: dict[str, Path]) -> list[Path]:
    """Where the plug-in goes: Krita's one folder, or each GIMP 3 profile's plug-ins."""
    if host != "gimp":
        return [dirs[host]]
    found = gimp_plugin_dirs(dirs["gimp"])
    if not found:
        raise PixelsError(
            f"no GIMP 3 profile in {dirs['gimp']}: start GIMP 3 once (it makes its profile "
            "there), then run this again; or give the plug-ins folder GIMP lists under "
            "Edit > Preferences > Folders > Plug-ins with --profile DIR"
        )
    return found


def assembler(host: str):
    """plugin_HOST/assemble.py of the checkout, loaded by path (the plug-in folders are
    not installed packages)."""
    path = ROOT / f"plugin_{host}" / "assemble.py"
    if not path.is_file():
        raise PixelsError(
            f"this pixels has no plug-in sources ({path} is missing). Download the "
            f"pixels-{host}.zip bundle and run: pixels install-plugin {host} --bundle ZIP"
        )
    spec = importlib.util.spec_from_file_location(f"pixels_assemble_{host}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def unpack(host: str, bundle: Path | None, work: Path) -> Path:
    """A folder holding the host's ENTRIES: the bundle's (unzipped) or a fresh assembly."""
    carried = CARRIED / f"pixels-{host}.zip"
    if bundle is None and carried.is_file():
        bundle = carried
    if bundle is None:
        assembler(host).assemble(work)
        return work
    if zipfile.is_zipfile(bundle):
        with zipfile.ZipFile(bundle) as z:
            z.extractall(work)
        folder = work
    elif bundle.is_dir():
        folder = bundle
    else:
        raise PixelsError(f"--bundle {bundle}: not a zip file or a folder. Pass pixels-{host}.zip")
    missing = [name for name in ENTRIES[host] if not (folder / name).exists()]
    if missing:
        raise PixelsError(
            f"--bundle {bundle} is not the {host} plug-in: it lacks {', '.join(missing)} at its "
            f"root. Pass pixels-{host}.zip (or the folder it unzips to)"
        )
    return folder


def install(host: str, dest: Path, bundle: Path | None = None) -> list[Path]:
    """Copy the plug-in into `dest` (replacing an installed one); return what was written."""
    dest.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as work:
        source = unpack(host, bundle, Path(work))
        for name in ENTRIES[host]:
            target = dest / name
            if target.is_dir():
                shutil.rmtree(target)
            if (source / name).is_dir():
                shutil.copytree(source / name, target, ignore=shutil.ignore_patterns("__pycache__"))
            else:
                shutil.copy(source / name, target)
            written.append(target)
    if host == "gimp":  # GIMP runs NAME/NAME.py as a program; zips may drop the mode
        (dest / "pixels_gimp" / "pixels_gimp.py").chmod(0o755)
    return written


def run(args) -> int:
    dirs = config_dirs(sys.platform, os.environ, Path.home())
    for dest in [args.profile] if args.profile else destinations(args.host, dirs):
        for path in install(args.host, dest.expanduser(), args.bundle):
            print(f"installed {path}")
    print(NEXT[args.host].format(kritarc=dirs["kritarc"]))
    return 0
