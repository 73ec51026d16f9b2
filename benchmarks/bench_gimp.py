"""The GIMP plug-in's transfer times in the real GIMP (3.0 and 3.2, the host tests'
chroots), against a real `pixels serve` with the tiny model on this machine.

    python benchmarks/bench_gimp.py [--releases trixie sid] [--sizes 1024 4096] [--repeats 3]

Installs the plug-in bundle into a fresh GIMP profile in each chroot and runs
benchmarks/gimp_transfer.py in gimp-console: per edit, the time to read the layers and
encode them, the server's round trip, and the time from the server's result to the
finished layer (PNG decode, keeping only changed pixels, writing the layer: the figure
docs/performance.md reports). Needs root (the chroots of tests/hosts/).
"""

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))  # serving: the tests' way to run `pixels serve`

from serving import ServerProcess  # noqa: E402

from pixels_cli.install import config_dirs, destinations, install  # noqa: E402
from tests.hosts import hostrun  # noqa: E402

FIGURES = (
    "read_and_encode_s",
    "server_total_s",
    "result_to_layer_s",
    "decode_s",
    "compare_s",
    "write_s",
)


def bench(release: str, bundle: Path, server: ServerProcess, sizes, repeats, work) -> list:
    hosts = hostrun.Hosts(hostrun.ensure_root(release), work)
    dirs = config_dirs("linux", {}, hosts.home)
    (dirs["gimp"] / hosts.gimp_version).mkdir(parents=True)
    plugin = destinations("gimp", dirs)[0]
    install("gimp", plugin, bundle)
    script = hosts.bind(Path(__file__).parent, "/pixels/benchmarks") + "/gimp_transfer.py"
    spec = {
        "plugin": hosts.inside(plugin / "pixels_gimp"),
        "server": server.url,
        "sizes": sizes,
        "repeats": repeats,
    }
    code = f"SPEC = {spec!r}; exec(open({script!r}).read())"
    result = hosts.gimp_batch(code, timeout=1800)
    lines = [line.split(" ", 1)[1] for line in result.stdout.splitlines() if "PIXELS-BENCH" in line]
    if "done" not in lines:
        raise RuntimeError(result.describe())
    return [json.loads(line) for line in lines if line != "done"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--releases", nargs="+", default=list(hostrun.RELEASES))
    parser.add_argument("--sizes", nargs="+", type=int, default=[1024, 4096])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        dist = Path(tmp) / "dist"
        build = [sys.executable, str(ROOT / "packaging/build_plugins.py"), "--dist", str(dist)]
        subprocess.run(build, check=True, capture_output=True)
        server = ServerProcess()
        try:
            for release in args.releases:
                work = Path(tmp) / release
                runs = bench(
                    release, dist / "pixels-gimp.zip", server, args.sizes, args.repeats, work
                )
                version = hostrun.RELEASES[release]
                for size in args.sizes:
                    mine = [r for r in runs if r["size"] == size]
                    medians = {k: statistics.median(r[k] for r in mine) for k in FIGURES}
                    print(f"GIMP {version} {size}x{size} ({len(mine)} runs): {json.dumps(medians)}")
                    print(f"  every run: {json.dumps(mine)}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()
