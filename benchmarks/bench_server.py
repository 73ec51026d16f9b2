"""Server overhead and a load run (tiny model on the CPU unless told otherwise).

    python benchmarks/bench_server.py [--size 1024] [--repeats 5] [--clients 8] [--jobs 5]
    python benchmarks/bench_server.py --model sdxl-random --device cuda     # on a GPU

1. The same 1024x1024 two-exemplar edit through `pixels serve` (wall time from submit to
   the result's PNG bytes in the client) and through the engine in this process (the
   `Editor.edit` call alone). Goal: overhead at most 100 ms or 5 %, whichever is larger.
2. N clients x M jobs submitted at once: every job must be answered, with its own seed
   and canvas size (so a result delivered to the wrong client would show).
"""

import argparse
import io
import os
import platform
import statistics
import sys
import threading
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # serving: the tests' way to run `pixels serve`

from serving import ServerProcess  # noqa: E402

from pixels_cli import samples  # noqa: E402
from pixels_client import Client, EditRequest, Layer  # noqa: E402
from pixels_client import png as stdpng  # noqa: E402
from pixels_engine import Editor, EditSettings, Exemplar, load_model  # noqa: E402
from pixels_engine.images import to_uint8  # noqa: E402

PARAMS = {"steps": 10, "strength": 0.6, "seed": 7}  # 6 steps run


def png(array: np.ndarray) -> bytes:
    """As a plug-in sends its layers: through pixels_client.png."""
    pixels = to_uint8(array)
    height, width = pixels.shape[:2]
    if pixels.ndim == 2:
        return stdpng.encode_grey(width, height, pixels.tobytes())
    return stdpng.encode_rgba(width, height, pixels.tobytes())


def unpng(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)), dtype=np.float32) / 255.0


def scene(size: int, **params) -> EditRequest:
    source, (lake, rug) = samples.scene(size)
    layers = [Layer(png(lake.image), png(lake.map)), Layer(png(rug.image))]
    return EditRequest(png(source), layers, params={**PARAMS, **params})


def overhead(url: str, size: int, repeats: int, model: str, device: str) -> dict:
    request = scene(size)
    source = unpng(request.source)
    exemplars = [
        Exemplar(unpng(request.exemplars[0].image), unpng(request.exemplars[0].map)),
        Exemplar(unpng(request.exemplars[1].image)),
    ]
    settings = EditSettings(**PARAMS)
    editor = Editor(load_model(model, device))
    engine, served, server_side = [], [], []
    with Client(url, timeout=300) as client:
        client.connect()
        client.submit(request).result()  # warm-up: first-use costs are not the server's
        editor.edit(source, exemplars, settings)
        for _ in range(repeats):  # alternate, so drifting machine load hits both alike
            began = time.perf_counter()
            result = client.submit(request).result()
            served.append(time.perf_counter() - began)
            server_side.append(result.timings)
            began = time.perf_counter()
            editor.edit(source, exemplars, settings)
            engine.append(time.perf_counter() - began)
    e, s = statistics.median(engine), statistics.median(served)
    part = {k: statistics.median(t[k] for t in server_side) for k in server_side[0]}
    return {
        "engine_s": e,
        "server_s": s,
        "server_edit_s": part["edit"],
        "decode_ms": part["decode_images"] * 1000,
        "encode_ms": part["encode_result"] * 1000,
        "rest_ms": (s - part["edit"] - part["decode_images"] - part["encode_result"]) * 1000,
        "added_ms": statistics.median(
            w - t["edit"] for w, t in zip(served, server_side, strict=True)
        )
        * 1000,
        "overhead_ms": (s - e) * 1000,
        "overhead_pct": (s - e) / e * 100,
        "goal_ms": max(100.0, 0.05 * e * 1000),
    }


def load_run(url: str, clients: int, jobs: int) -> dict:
    """Every client submits all its jobs at once; each has its own canvas size and seeds."""
    answered, crossed, failures, latencies = 0, 0, [], []
    lock = threading.Lock()

    def client_run(k: int) -> None:
        nonlocal answered, crossed
        size = 64 + 8 * k
        try:
            with Client(url, timeout=60) as client:
                submitted = []
                for j in range(jobs):
                    seed = 1000 * k + j
                    submitted.append(
                        (
                            seed,
                            time.perf_counter(),
                            client.submit(scene(size, steps=4, strength=0.5, seed=seed)),
                        )
                    )
                for seed, began, job in submitted:
                    result = job.result(timeout=600)
                    ok = result.seed == seed and unpng(result.image).shape[:2] == (size, size)
                    with lock:
                        answered += 1
                        crossed += not ok
                        latencies.append(time.perf_counter() - began)
        except Exception as e:
            with lock:
                failures.append(f"client {k}: {e}")

    began = time.perf_counter()
    threads = [threading.Thread(target=client_run, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - began
    latencies.sort()
    return {
        "jobs": clients * jobs,
        "answered": answered,
        "crossed": crossed,
        "failures": failures,
        "wall_s": wall,
        "jobs_per_s": answered / wall,
        "latency_p50_s": latencies[len(latencies) // 2] if latencies else None,
        "latency_max_s": latencies[-1] if latencies else None,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=1024)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--jobs", type=int, default=5)
    parser.add_argument("--model", default="tiny")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    total = args.clients * args.jobs
    server = ServerProcess(
        "--model", args.model, "--device", args.device, "--queue-size", str(total)
    )
    url = server.url
    try:
        where = torch.cuda.get_device_name() if args.device == "cuda" else "the CPU"
        print(
            f"machine: {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
            f"{args.model} model on {where}"
        )
        o = overhead(url, args.size, args.repeats, args.model, args.device)
        met = "met" if o["overhead_ms"] <= o["goal_ms"] else "NOT met"
        added = "met" if o["added_ms"] <= o["goal_ms"] else "NOT met"
        print(
            f"overhead, {args.size}x{args.size}, 6 steps, median of {args.repeats}: engine "
            f"{o['engine_s']:.3f} s, through the server {o['server_s']:.3f} s: "
            f"{o['overhead_ms']:.0f} ms ({o['overhead_pct']:.1f} %); goal <= "
            f"{o['goal_ms']:.0f} ms: {met}"
        )
        print(
            f"  within the same runs the server added {o['added_ms']:.0f} ms to its engine "
            f"call ({o['server_edit_s']:.3f} s): decoding the PNGs {o['decode_ms']:.0f} ms, "
            f"encoding the result {o['encode_ms']:.0f} ms, transport and the rest "
            f"{o['rest_ms']:.0f} ms; goal: {added}"
        )
        r = load_run(url, args.clients, args.jobs)
        print(
            f"load: {args.clients} clients x {args.jobs} jobs: {r['answered']}/{r['jobs']} "
            f"answered, {r['crossed']} crossed, {len(r['failures'])} failed, "
            f"{r['wall_s']:.1f} s ({r['jobs_per_s']:.2f} jobs/s), latency p50 "
            f"{r['latency_p50_s']:.1f} s, max {r['latency_max_s']:.1f} s"
        )
        for failure in r["failures"]:
            print("  " + failure)
        ok = r["answered"] == r["jobs"] and not r["crossed"] and not r["failures"]
        return 0 if ok else 1
    finally:
        server.stop()


if __name__ == "__main__":
    sys.exit(main())
