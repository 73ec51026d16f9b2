"""On a GPU: a real CUDA out-of-memory in `pixels serve`, and the server keeps serving.

The server runs the full-size `sdxl-random` model. Another process (this one) then takes
all but a little of the GPU's memory, and the same 1024x1024 edit is sent with less and
less headroom: each attempt must end in a result (perhaps after the server's one retry
in low-memory mode: attention slicing and VAE tiling) or a typed `out_of_memory` error,
and once the memory is given back the server must answer the edit again.

    python benchmarks/gpu_oom_check.py
"""

import json
import sys
import urllib.request

import torch
from bench_server import scene
from serving import ServerProcess

from pixels_client import Client, JobError

HEADROOM_GB = (0.25, 0.75, 1.5, 3.0)


def low_memory(http: str) -> bool:
    with urllib.request.urlopen(http + "/v1/info", timeout=10) as answer:
        return json.load(answer)["model"].get("low_memory", False)


def attempt(client: Client, request) -> str:
    try:
        result = client.submit(request).result(timeout=600)
    except JobError as e:
        return e.code
    return f"result (seed {result.seed})"


def main() -> int:
    # ServerProcess returns once the model is on the GPU: only then is memory taken.
    server = ServerProcess("--model", "sdxl-random", "--device", "cuda")
    url, http = server.url, server.http
    request = scene(1024, steps=4, strength=1.0)
    outcomes = []
    try:
        with Client(url, timeout=600) as client:
            print("model:", client.connect().model)
            for headroom in HEADROOM_GB:
                free, _ = torch.cuda.mem_get_info()
                size = free - int(headroom * 2**30)
                blocker = torch.empty(size, dtype=torch.uint8, device="cuda")
                outcome = attempt(client, request)
                del blocker
                torch.cuda.empty_cache()
                outcomes.append((headroom, outcome, low_memory(http)))
                print(f"headroom {headroom} GB: {outcome}; server low_memory={outcomes[-1][2]}")
            final = attempt(client, request)
            print("memory given back:", final)
    finally:
        code = server.stop()
    print("server exit code:", code)
    allowed = all(o.startswith("result") or o == "out_of_memory" for _, o, _ in outcomes)
    return 0 if allowed and final.startswith("result") and code == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
