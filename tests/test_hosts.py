"""The real GIMP and Krita run headless in the Debian chroots (tests/hosts/): the oldest
releases supported (GIMP 3.0.4, Krita 5.2.9, trixie) and the current ones (GIMP 3.2,
Krita 5.3, sid). Every test that takes `hosts_root` runs once in each.

These prove the harness that plug-in tests build on: a Python plug-in called through GIMP's
PDB, Krita's pixel API through kritarunner, and a pykrita docker in the whole Krita app.
The first run on a machine builds the chroot (about 1.5 min, 1.6 GB); later runs reuse it.
"""

import http.server
import os
import threading
from pathlib import Path

import pytest
from PIL import Image

from tests.hosts import hostrun

FIXTURES = hostrun.HERE / "fixtures"
PROBE_RED = (0xD0, 0x30, 0x20)  # the probe docker's background, see its __init__.py


@pytest.fixture(scope="session", params=list(hostrun.RELEASES))
def hosts_root(request) -> Path:
    """A chroot; skipped where it cannot exist (not root), but CI must have it: fail there."""
    in_ci = os.environ.get("CI", "").lower() in ("1", "true", "yes")
    try:
        if os.geteuid() != 0:
            raise hostrun.HostsUnavailable("building and entering the chroot needs root")
        return hostrun.ensure_root(request.param)
    except hostrun.HostsUnavailable as exc:
        if in_ci:
            pytest.fail(f"CI needs the GIMP/Krita chroot: {exc}")
        pytest.skip(f"GIMP/Krita chroot unavailable: {exc}")


@pytest.fixture
def hosts(hosts_root: Path, tmp_path: Path) -> hostrun.Hosts:
    return hostrun.Hosts(hosts_root, tmp_path)


def test_gimp_runs_python_plugin_noninteractive_from_batch(hosts):
    hosts.install_gimp_plugin(FIXTURES / "gimp/pixels_probe")
    script = hosts.bind(FIXTURES, "/pixels/fixtures") + "/gimp_batch_probe.py"
    result = hosts.gimp_batch(f"exec(open({script!r}).read())")
    assert result.returncode == 0, result.describe()
    assert "PIXELS-READ ok" in result.stdout, result.describe()
    assert "PIXELS-LINEAR-DIFFERS True" in result.stdout, result.describe()
    # status, layer count, top layer's name and first pixel (red=123 from the argument)
    assert "PIXELS-PROBE True 2 probe-layer 7b0a14ff" in result.stdout, result.describe()


def test_kritarunner_pixel_roundtrip_is_bgra(hosts):
    path = hosts.bind(FIXTURES / "kritarunner", "/pixels/kritarunner")
    result = hosts.kritarunner("krita_probe", "probe", pythonpath=path)
    assert result.returncode == 0, result.describe()
    assert "PIXELS-KRITA roundtrip-ok (200, 20, 30)" in result.stdout, result.describe()


def test_krita_app_shows_plugin_docker(hosts):
    hosts.install_krita_plugin(FIXTURES / "krita_docker", "pixels_probe_docker")
    shot = hosts.work / "shot.png"
    result = hosts.krita(env={"PIXELS_PROBE_SHOT": hosts.inside(shot)})
    assert result.returncode in (0, hostrun.KRITA_SEGFAULT), result.describe()
    assert "PIXELS-DOCKER True True" in result.stdout, result.describe()
    image = Image.open(shot).convert("RGB")
    colours = dict((rgb, n) for n, rgb in image.getcolors(maxcolors=1 << 20))
    assert len(colours) > 50, "the screenshot is nearly uniform"
    assert colours.get(PROBE_RED, 0) > 10_000, "the probe docker is not visible"


def test_chroot_reaches_host_loopback(hosts):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/"
    code = f"import urllib.request; print(urllib.request.urlopen({url!r}).read().decode())"
    try:
        result = hosts.run(["python3", "-c", code], timeout=30)
    finally:
        server.shutdown()
    assert result.stdout.strip() == "hello from the host", result.describe()


def test_timeout_kills_everything_and_leaves_no_mounts(hosts):
    result = hosts.run(["sh", "-c", "sleep 300 & sleep 300"], timeout=2)
    assert result.timed_out and result.seconds < 30, result.describe()
    mounts = Path("/proc/self/mountinfo").read_text()
    assert str(hosts.root) not in mounts


class _Hello(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello from the host")

    def log_message(self, *args):
        pass
