"""The models built here, on disk: built into a temporary sibling folder and renamed into
place, with the size and sha256 of every file recorded last (in the marker, whose
presence says the build is complete); checked at every load and rebuilt when a file is
missing, extra, cut short or changed. The scratch folder of a build killed midway is
removed at the next load.

Every file is hashed at every load: only the tiny models are written to disk (18 MB at
most; the full-size ones are built in memory), so it costs tens of milliseconds, and only
a hash catches flipped bits, which load silently and change the edit.
"""

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path

from filelock import FileLock
from huggingface_hub.utils.sha import sha_fileobj

from ..errors import PixelsError

log = logging.getLogger("pixels.engine")
# In a model folder built here: its weights are random, the size it works at, and the
# size and sha256 of each of its files. Written last.
MARKER = "RANDOM_WEIGHTS.json"
PART = ".part-"  # a build's scratch folder, beside the models: .part-VERSION-RANDOM
NOTE = "Seeded random weights built by pixels_engine; not a trained model."


def cache_dir() -> Path:
    """Where built models live: $PIXELS_CACHE, else ~/.cache/pixels."""
    return Path(os.environ.get("PIXELS_CACHE") or Path.home() / ".cache" / "pixels")


def built(folder: Path) -> dict | None:
    """What a folder built here says of itself (random weights, working size, its files),
    or None for a real checkpoint."""
    marker = folder / MARKER
    return json.loads(marker.read_text()) if marker.is_file() else None


def model_folder(name: str, version: str, build: Callable[[Path], object], about: dict) -> Path:
    """The cache's folder of `version`, built (by `build(scratch folder)`, a pipeline) if
    it is not there, rebuilt with a warning if it does not match its checksums; one
    process builds while the others wait for it."""
    target = cache_dir() / "models" / version
    if damage(target) is None and not leftovers(target):
        return target
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with FileLock(target.parent / f".{version}.lock"):
            for leftover in leftovers(target):  # of builds killed midway
                shutil.rmtree(leftover)
            problem = damage(target)  # another process may have built it meanwhile
            if problem is None:
                return target
            if target.exists():
                log.warning(
                    "the built model %s in %s does not match its build: %s. Rebuilding it.",
                    name,
                    target,
                    problem,
                )
            work = Path(tempfile.mkdtemp(prefix=f"{PART}{version}-", dir=target.parent))
            try:
                save(build(work), work / "model", about)
                if target.exists():
                    target.rename(work / "damaged")  # removed with the scratch folder
                (work / "model").rename(target)
            finally:
                shutil.rmtree(work)
    except OSError as e:
        where = f" ({e.filename})" if e.filename else ""
        raise PixelsError(
            f"cannot build model {name} in the cache folder {cache_dir()}: "
            f"{e.strerror or e}{where}. Set PIXELS_CACHE to a folder this user can write."
        ) from None
    return target


def leftovers(target: Path) -> list[Path]:
    """The scratch folders of builds of `target` that were killed before they ended
    (while a build runs, it holds the lock)."""
    return list(target.parent.glob(f"{PART}{target.name}-*"))


def save(pipe, folder: Path, about: dict) -> None:
    """The pipeline as safetensors, then the marker with every file's checksum."""
    pipe.save_pretrained(folder, safe_serialization=True)
    marker = {**about, "note": NOTE, "files": checksums(folder)}
    (folder / MARKER).write_text(json.dumps(marker, indent=1))


def checksums(folder: Path) -> dict:
    """{path in the folder: {"bytes": size, "sha256": hex digest}} of every file but the
    marker."""
    found = {}
    for path in sorted(folder.rglob("*")):
        name = path.relative_to(folder).as_posix()
        if path.is_file() and name != MARKER:
            with path.open("rb") as f:
                found[name] = {"bytes": path.stat().st_size, "sha256": sha_fileobj(f).hex()}
    return found


def damage(folder: Path) -> str | None:
    """What differs in `folder` from the build its marker records (in words), or None
    when every file is there with its recorded size and sha256."""
    if not folder.is_dir():
        return "not built"
    try:
        recorded = dict(built(folder)["files"])
    except (OSError, ValueError, TypeError, KeyError):
        return f"{MARKER} is missing or unreadable (a build cut short?)"
    found = checksums(folder)
    if found == recorded:
        return None
    name = next(
        n for n in sorted(recorded.keys() | found.keys()) if recorded.get(n) != found.get(n)
    )
    if name not in found:
        return f"{name} is missing"
    if name not in recorded:
        return f"{name} is not part of the build"
    if found[name]["bytes"] != recorded[name]["bytes"]:
        return f"{name} is {found[name]['bytes']} bytes, not {recorded[name]['bytes']}"
    return f"{name} has changed (its sha256 differs)"
