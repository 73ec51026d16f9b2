"""How much memory an edit needs, known before any work: the server refuses a job over
its budget at submit instead of finding out halfway through (or being killed). And how
much a device has free, which a model load is checked against before it starts.

What grows with the canvas is counted per pixel: each layer decoded to float32 (RGBA
16 bytes, maps 4), the maps the engine makes and keeps, the result, and the largest
passing peak on top (a decode, the map tools, the surgery, the result's encoding). That
peak is over the model's window where it is larger than the canvas: the window is cut
and pasted back at the canvas's resolution, padded to the model's shape, which makes it
many times a thin canvas's own area (region.padded_pixels). The model's own work
happens at its working size, which does not grow with the canvas; it is the fixed part.
The figures are upper bounds, checked against a real server's peak in
tests/test_server_memory.py.
"""

from pathlib import Path

import torch

from pixels_contract.messages import EXEMPLAR, GLOBAL_MAP, MAP

from .region import padded_pixels

RGBA = 16  # bytes per pixel of a float32 RGBA layer
GREY = 4  # bytes per pixel of a float32 map
KEPT_EXTRA = RGBA + GREY  # the result canvas, and the combined map
PEAK = 64  # bytes per pixel of the largest passing peak: map tools, decode, encode, window
FIXED = 512 * 2**20  # the model's work at its working size, previews, Python


def job_bytes(
    canvas: tuple[int, int], kinds: list[str], params: dict, native: int, encoded: int = 0
) -> int:
    """Bytes one edit may need: `kinds` are its images' roles in the order sent
    (pixels_contract.messages.SOURCE, EXEMPLAR, MAP, GLOBAL_MAP), `native` the side of
    the model's square working size, `encoded` the size of those images as files, which
    a server holds until the job ends."""
    width, height = canvas
    pixels = width * height
    layers = 1 + kinds.count(EXEMPLAR)  # the source and the exemplars
    maps = kinds.count(MAP) + kinds.count(GLOBAL_MAP) + kinds.count(EXEMPLAR)  # read or made
    per_pixel = RGBA * layers + GREY * maps + KEPT_EXTRA
    if params.get("mode") == "chain":
        per_pixel += RGBA  # each stage's result is the next one's source
    peak = PEAK * max(pixels, padded_pixels(width, height, native))
    return pixels * per_pixel + peak + encoded + FIXED


def free_bytes(device: torch.device) -> int | None:
    """Memory this process may still take on `device`: a CUDA card's free memory; in RAM
    (Linux) the least of what the system has available, what the process's cgroup
    allows and its address-space limit. None where that cannot be read."""
    if device.type == "cuda":
        return torch.cuda.mem_get_info(device)[0]
    meminfo = Path("/proc/meminfo")
    if device.type != "cpu" or not meminfo.is_file():
        return None
    free = [kilobytes(meminfo, "MemAvailable")]
    cgroup = Path("/sys/fs/cgroup")
    if (cgroup / "memory.max").is_file():
        cap = (cgroup / "memory.max").read_text().strip()
        if cap != "max":
            free.append(int(cap) - int((cgroup / "memory.current").read_text()))
    limits = Path("/proc/self/limits").read_text().splitlines()
    cap = next(line.split()[3] for line in limits if line.startswith("Max address space"))
    if cap != "unlimited":
        free.append(int(cap) - kilobytes(Path("/proc/self/status"), "VmSize"))
    return max(0, min(free))


def kilobytes(path: Path, key: str) -> int:
    """A `key: N kB` line of a /proc file, in bytes."""
    for line in path.read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) * 1024
    raise KeyError(key)
