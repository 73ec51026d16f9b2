"""The client runs in a Python with the standard library alone (GIMP's, Krita's), once
websockets is vendored into it, and imports nothing heavy. The copy tested is the plug-in
bundles' own (pixels_client.vendor.copy_client): the pinned websockets 15.0.1, which
works on the Python 3.10 of Krita 5.2, unlike the server's websockets 17."""

import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from pixels_client import vendor

CHECK = """
import sys
import pixels_client, pixels_client.transport as t
from pixels_client._vendor.websockets.version import version
assert version == {version!r}, version
assert t.connect.__module__ == "pixels_client._vendor.websockets.sync.client", t.connect
with pixels_client.Client(sys.argv[1]) as client:
    print(client.connect().model["name"])
heavy = {{"numpy", "PIL", "torch", "pixels_engine", "server", "websockets"}} & set(sys.modules)
assert not heavy, heavy
"""


def python310() -> str | None:
    """A Python 3.10 on this machine (PATH, or pyenv's), if there is one that runs."""
    home = str(Path.home())
    candidates = [
        shutil.which("python3.10"),
        *glob.glob(f"{home}/.pyenv/versions/3.10*/bin/python3.10"),
    ]
    for python in filter(None, candidates):
        if subprocess.run([python, "-c", "pass"], capture_output=True).returncode == 0:
            return python
    return None


@pytest.fixture(scope="module")
def bundled(tmp_path_factory) -> Path:
    """A folder holding the bundles' copy of pixels_client."""
    folder = tmp_path_factory.mktemp("client")
    vendor.copy_client(folder)
    return folder


def test_bundled_client_leaves_out_the_build_tool_and_the_c_speedup(bundled):
    client = bundled / "pixels_client"
    assert not (client / "vendor.py").exists()
    websockets = client / "_vendor" / "websockets"
    assert (websockets / "sync" / "client.py").is_file()
    assert not [p for p in websockets.rglob("*") if p.suffix in (".so", ".pyd", ".c")]


@pytest.mark.parametrize("which", ["this", "3.10"])
def test_vendored_client_talks_to_the_server_with_no_site_packages(bundled, server, which):
    python = sys.executable if which == "this" else python310()
    if python is None:  # the project's machines have pyenv's 3.10: CI must not lose this
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail("CI needs a Python 3.10 (python3.10 or pyenv's) for this check")
        pytest.skip("no Python 3.10 on this machine")
    # -S: no site-packages, so an installed websockets (or anything else) cannot be found.
    code = f"import sys; sys.path.insert(0, {str(bundled)!r})\n" + CHECK.format(
        version=vendor.VERSION
    )
    done = subprocess.run(
        [python, "-S", "-c", code, server.url], capture_output=True, text=True, cwd=bundled
    )
    assert done.returncode == 0 and done.stdout.strip() == "tiny", done.stderr
