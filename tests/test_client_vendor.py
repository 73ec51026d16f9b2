"""The client runs in a Python with the standard library alone (GIMP's, Krita's), once
websockets is vendored into it, and imports nothing heavy."""

import shutil
import subprocess
import sys
from pathlib import Path

from pixels_client.vendor import vendor

ROOT = Path(__file__).resolve().parent.parent

CHECK = """
import sys
import pixels_client, pixels_client.transport as t
assert t.connect.__module__ == "pixels_client._vendor.websockets.sync.client", t.connect
with pixels_client.Client(sys.argv[1]) as client:
    print(client.connect().model["name"])
heavy = {"numpy", "PIL", "torch", "pixels_engine", "server", "websockets"} & set(sys.modules)
assert not heavy, heavy
"""


def test_vendored_client_talks_to_the_server_with_no_site_packages(tmp_path, server):
    shutil.copytree(
        ROOT / "pixels_client",
        tmp_path / "pixels_client",
        ignore=shutil.ignore_patterns("_vendor", "__pycache__"),
    )
    copy = vendor(tmp_path / "pixels_client" / "_vendor")
    assert (copy / "sync" / "client.py").is_file()
    # -S: no site-packages, so an installed websockets (or anything else) cannot be found.
    done = subprocess.run(
        [sys.executable, "-S", "-c", f"import sys; sys.path.insert(0, {str(tmp_path)!r})\n{CHECK}"]
        + [server.url],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0 and done.stdout.strip() == "tiny", done.stderr
