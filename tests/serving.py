"""A real `pixels serve` on loopback (tiny model) and the layers the tests send it."""

import io
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from pixels_cli import samples
from pixels_client import EditRequest, Layer
from pixels_engine.images import to_uint8

ROOT = Path(__file__).resolve().parent.parent
CACHE = os.environ.get("PIXELS_CACHE") or str(ROOT / ".pytest_cache" / "pixels")
START_TIMEOUT = 120


class ServerProcess:
    """`python -m pixels_cli serve` (or `program serve`, a built binary) in a subprocess,
    on a free port (or `port`), with its models in `cache`, started in the folder `cwd`."""

    def __init__(
        self, *args: str, port: int = 0, program: str | None = None, cache=CACHE, cwd=ROOT
    ):
        env = {
            **os.environ,
            "PIXELS_CACHE": str(cache),
            "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
        }
        pixels = [program] if program else [sys.executable, "-m", "pixels_cli"]
        command = [*pixels, "serve", "--port", str(port), *args]
        self.process = subprocess.Popen(
            command, cwd=cwd, env=env, stderr=subprocess.PIPE, text=True
        )
        self.log: list[str] = []
        self.port = self.wait_for_port()
        self.url = f"ws://127.0.0.1:{self.port}"
        self.http = f"http://127.0.0.1:{self.port}"
        self.wait_ready()

    def wait_for_port(self) -> int:
        for line in self.process.stderr:
            self.log.append(line)
            found = re.search(r"listening on http://127\.0\.0\.1:(\d+)", line)
            if found:
                threading.Thread(target=self.drain, daemon=True).start()
                return int(found.group(1))
        raise RuntimeError("server did not start:\n" + "".join(self.log))

    def drain(self) -> None:
        """Keep reading the log, so that a full pipe never blocks the server."""
        for line in self.process.stderr:
            self.log.append(line)

    def wait_ready(self) -> None:
        """Until the model is loaded (its load state is on /health, open without a token)."""
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            with urllib.request.urlopen(self.http + "/health", timeout=5) as r:
                if b'"ready"' in r.read():
                    return
            time.sleep(0.2)
        raise RuntimeError("model did not load in time")

    def stop(self, sig=signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.process.wait(timeout=60)


def png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(to_uint8(array)).save(out, format="PNG")
    return out.getvalue()


def read_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)))


def scene_request(size: int = 96, **params) -> EditRequest:
    """The demo scene: lake with its map, rug with none; quick settings by default."""
    source, (lake, rug) = samples.scene(size)
    params = {"steps": 4, "strength": 0.5, "seed": 11, **params}
    exemplars = [Layer(png(lake.image), png(lake.map)), Layer(png(rug.image))]
    return EditRequest(png(source), exemplars, params=params)


LONG = {"steps": 150, "strength": 1.0}  # long enough to cancel while it runs
