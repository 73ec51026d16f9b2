"""From the server's result to a layer in the real Krita, at 1024 and 4096 squared.

    python benchmarks/bench_krita_transfer.py [--sizes 1024,4096] [--repeats 3]

Needs root and the Krita chroots of tests/hosts (trixie: Krita 5.2.9, sid: Krita 5.3).
Starts `pixels serve` (tiny model, CPU), runs tests/hosts/fixtures/krita_plugin/
krita_transfer.py inside each Krita with the plug-in bundle, prints the medians and
writes every figure to docs/measurements/krita-transfer.json. Goal (issue 10): under
1 s from the result to the layer at 4096 x 4096.
"""

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from serving import ServerProcess  # noqa: E402

from tests.hosts import hostrun  # noqa: E402

FIXTURE = hostrun.HERE / "fixtures" / "krita_plugin"
OUT = ROOT / "docs" / "measurements" / "krita-transfer.json"
PARTS = ("content_s", "history_s", "apply_s", "result_to_layer_s")


def plugin(folder: Path) -> Path:
    """The bundle pixels-krita.zip, built and unpacked as Krita's importer does."""
    dist = folder / "dist"
    script = ROOT / "packaging" / "build_plugins.py"
    subprocess.run([sys.executable, script, "--dist", dist], check=True, capture_output=True)
    with zipfile.ZipFile(dist / "pixels-krita.zip") as z:
        z.extractall(folder / "pykrita")
    return folder / "pykrita"


def run(release: str, url: str, sizes: str, repeats: int, pykrita: Path) -> list[dict]:
    hosts = hostrun.Hosts(hostrun.ensure_root(release), Path(tempfile.mkdtemp()))
    path = f"{hosts.bind(pykrita, '/pixels/pykrita')}:{hosts.bind(FIXTURE, '/pixels/t')}"
    env = {
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": path,
        "PIXELS_URL": url,
        "PIXELS_SIZES": sizes,
        "PIXELS_REPEATS": str(repeats),
    }
    done = hosts.run(["kritarunner", "-s", "krita_transfer", "-f", "main"], env=env, timeout=1800)
    if "PIXELS-TRANSFER-DONE" not in done.stdout:
        sys.exit(f"{release}: the measurement did not finish\n{done.describe()}")
    lines = [
        x.split(" ", 1)[1] for x in done.stdout.splitlines() if x.startswith("PIXELS-TRANSFER ")
    ]
    return [{"release": release, **json.loads(line)} for line in lines]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1024,4096")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    server = ServerProcess("--max-pixels", str(4096 * 4096))
    try:
        with tempfile.TemporaryDirectory() as folder:
            pykrita = plugin(Path(folder))
            rows = []
            for release in hostrun.RELEASES:
                rows += run(release, server.url, args.sizes, args.repeats, pykrita)
    finally:
        server.stop()
    machine = f"{platform.node()}: {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}"
    OUT.write_text(json.dumps({"machine": machine, "rows": rows}, indent=1) + "\n")
    print(f"{machine}\n| Krita chroot | size | " + " | ".join(PARTS) + " |")
    for release in hostrun.RELEASES:
        for size in (int(s) for s in args.sizes.split(",")):
            mine = [r for r in rows if r["release"] == release and r["size"] == size]
            medians = [statistics.median(r[p] for r in mine) for p in PARTS]
            print(f"| {release} | {size} | " + " | ".join(f"{m:.3f}" for m in medians) + " |")
    print(f"figures: {OUT}")


if __name__ == "__main__":
    main()
