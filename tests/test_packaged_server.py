"""The PyInstaller build of `pixels` (packaging/build_server.py) runs without Python: it
starts `pixels serve`, answers the handshake and completes an edit with the tiny model,
which it builds from its bundled configs into an empty cache; and it installs the plug-in
bundles it carries.

The build takes minutes, so dist/pixels/ is reused while it is newer than every source
file it bundles; delete it to force a rebuild. A failed build fails the test: it never
skips, so CI cannot lose it.
"""

import subprocess
import sys
import time
from pathlib import Path

import pytest
from serving import ROOT, ServerProcess, read_png, scene_request

import pixels_client

DIST = ROOT / "dist"
BINARY = DIST / "pixels" / "pixels"
SOURCES = ("pixels_engine", "pixels_cli", "pixels_client", "server", "packaging")


def newest_source() -> float:
    files = [p for d in SOURCES for p in (ROOT / d).rglob("*") if p.suffix in (".py", ".json")]
    return max(p.stat().st_mtime for p in [*files, ROOT / "requirements.lock"])


@pytest.fixture(scope="module")
def binary() -> Path:
    if BINARY.is_file() and BINARY.stat().st_mtime > newest_source():
        return BINARY
    start = time.monotonic()
    script = ROOT / "packaging" / "build_server.py"
    done = subprocess.run([sys.executable, script, "--dist", DIST], capture_output=True, text=True)
    assert done.returncode == 0, f"PyInstaller build failed:\n{done.stdout}\n{done.stderr[-5000:]}"
    print(f"built {BINARY} in {time.monotonic() - start:.0f} s")
    return BINARY


def test_built_server_answers_the_handshake_and_edits(binary, tmp_path):
    server = ServerProcess("--model", "tiny", program=str(binary), cache=tmp_path)
    try:
        with pixels_client.Client(server.url) as client:
            info = client.connect()
            assert info.model["name"] == "tiny" and info.model["device"] == "cpu"
            result = client.edit(scene_request(96))
        assert read_png(result.image).shape == (96, 96, 4)
        assert result.steps_run == 2 and result.random_weights
        assert (tmp_path / "models").is_dir()  # the tiny model was built from the bundle
        assert any("torch" in line and "build" in line for line in server.log), server.log
    finally:
        assert server.stop() == 0, "".join(server.log)
    assert (binary.parent / "BUILD.txt").read_text().startswith("torch ")


def test_built_program_installs_the_plugins_it_carries(binary, tmp_path):
    for host, entry in (("gimp", "pixels_gimp/pixels_gimp.py"), ("krita", "pixels_krita.desktop")):
        done = subprocess.run(
            [binary, "install-plugin", host, "--profile", tmp_path / host],
            capture_output=True, text=True,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert f"installed {tmp_path / host}" in done.stdout
        assert (tmp_path / host / entry).is_file()
