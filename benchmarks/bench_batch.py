"""Batch throughput on Ray with one worker against two, on this machine's CPUs (tiny
model): the same manifest, each worker one thread (OMP_NUM_THREADS=1 for both runs, so the
two runs differ only in the number of workers), wall time of the whole batch.

    python benchmarks/bench_batch.py [--items 12] [--size 256]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from pixels_cli import samples  # noqa: E402


def write_manifest(folder: Path, items: int, size: int) -> Path:
    layers = samples.save_scene(folder, size)
    lines = [{"id": f"e{k}", **layers, "seed": k, "steps": 10} for k in range(items)]
    path = folder / "edits.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    return path


def run(manifest: Path, out: Path, workers: int) -> float:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_AUTH_MODE": "disabled"}
    command = [sys.executable, "-m", "pixels_cli", "batch", str(manifest), "--out", str(out)]
    began = time.perf_counter()
    done = subprocess.run(
        [*command, "--ray", "--workers", str(workers)], env=env, capture_output=True, text=True
    )
    seconds = time.perf_counter() - began
    if done.returncode:
        sys.exit(done.stderr[-2000:])
    return seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=12)
    parser.add_argument("--size", type=int, default=256)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        manifest = write_manifest(folder, args.items, args.size)
        one = run(manifest, folder / "one", 1)
        two = run(manifest, folder / "two", 2)
    figures = {
        "items": args.items,
        "cpus": os.cpu_count(),
        "seconds": {"1 worker": round(one, 2), "2 workers": round(two, 2)},
        "edits_per_minute": {
            "1 worker": round(60 * args.items / one, 1),
            "2 workers": round(60 * args.items / two, 1),
        },
        "throughput_ratio": round(one / two, 3),
    }
    print(json.dumps(figures, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
