"""A compiled server's cold start against its restart with the compile cache warm: from
starting `pixels serve --compile MODE` to the first finished edit (the default edit,
two exemplars at the model's native size), each with a fresh process, the second
reusing the compiled artifacts the first left in the cache.

    python benchmarks/bench_restart.py                               # tiny, CPU
    python benchmarks/bench_restart.py --model sdxl-random --device cuda --compile full
"""

import argparse
import json
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # serving: the tests' way to run `pixels serve`

from bench_server import scene  # noqa: E402
from serving import ServerProcess  # noqa: E402

from pixels_client import Client  # noqa: E402


def first_edit(args, cache: Path) -> dict:
    """Seconds from starting the server to its model ready, to compiled, to the first
    result in the client."""
    began = time.perf_counter()
    server = ServerProcess(
        "--model", args.model, "--device", args.device, "--compile", args.compile, cache=cache
    )
    ready = time.perf_counter() - began
    try:
        while load_state(server)["compile"]["state"] == "compiling":
            time.sleep(0.5)
        compiled = time.perf_counter() - began
        with Client(server.url, timeout=600) as client:
            result = client.submit(scene(args.size, steps=30)).result()
        done = time.perf_counter() - began
        state = load_state(server)["compile"]
    finally:
        server.stop()
    return {
        "ready_s": round(ready, 2),
        "compiled_s": round(compiled, 2),
        "first_edit_s": round(done, 2),
        "edit_s": result.timings.get("total"),
        "graphs": state["graphs"],
        "artifacts_loaded": state["artifacts_loaded"],
    }


def load_state(server: ServerProcess) -> dict:
    with urllib.request.urlopen(server.http + "/v1/models/load", timeout=10) as reply:
        return json.loads(reply.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--compile", default="blocks", choices=["blocks", "full"])
    parser.add_argument("--size", type=int, default=512)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as cache:
        cold = first_edit(args, Path(cache))
        warm = first_edit(args, Path(cache))
    print(json.dumps({"model": args.model, "compile": args.compile, "cold": cold, "warm": warm}))
    return 0 if warm["artifacts_loaded"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
