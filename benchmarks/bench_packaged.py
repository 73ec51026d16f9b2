"""The PyInstaller server as an artist runs it: its size on disk, the time from start to
a loaded model, and the default edit through it (the client's request to the result's
pixels in the client), first and then warm.

    python benchmarks/bench_packaged.py dist/pixels/pixels                      # tiny, CPU
    python benchmarks/bench_packaged.py dist/pixels/pixels --model sdxl-random \\
        --device cuda --size 1024                                                # a GPU

Build it first with `python packaging/build_server.py --dist dist` (with the torch that
should be inside: the CUDA build on a GPU machine).
"""

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # serving: the tests' way to run `pixels serve`

from serving import ServerProcess, read_png, scene_request  # noqa: E402

from pixels_client import Client  # noqa: E402

DEFAULT_EDIT = {"steps": 30, "strength": 0.6, "seed": 7}  # 18 steps run, two exemplars


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("program", type=Path, help="the built pixels program")
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    size = folder_bytes(args.program.parent)
    print(f"program: {args.program.parent} holds {size / 2**30:.2f} GiB")
    print((args.program.parent / "BUILD.txt").read_text().strip())
    with tempfile.TemporaryDirectory() as cache:
        began = time.perf_counter()
        server = ServerProcess(
            "--model", args.model, "--device", args.device, program=str(args.program), cache=cache
        )
        print(f"start to a loaded {args.model} (built into an empty cache): "
              f"{time.perf_counter() - began:.1f} s")  # fmt: skip
        try:
            seconds = []
            with Client(server.url) as client:
                print("serving:", client.connect().model)
                for _ in range(args.repeats + 1):
                    request = scene_request(args.size, **DEFAULT_EDIT)
                    began = time.perf_counter()
                    result = client.edit(request)
                    read_png(result.image)
                    seconds.append(time.perf_counter() - began)
            print(f"edit {args.size}x{args.size}, {result.steps_run} steps run: first "
                  f"{seconds[0]:.2f} s, then median {statistics.median(seconds[1:]):.2f} s "
                  f"(random weights: {result.random_weights})")  # fmt: skip
        finally:
            code = server.stop()
    return code


if __name__ == "__main__":
    sys.exit(main())
