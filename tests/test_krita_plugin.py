"""The Krita plug-in inside the real Krita 5.2.9 (tests/hosts/), against a real server.

kritarunner runs the plug-in's document logic and its threaded server connection on a
document with a source and three exemplars (transparency mask, grey map layer, auto
from alpha); the whole Krita app under Xvfb loads the plug-in, shows the PIXELS docker,
connects, generates through the docker's own buttons and saves a screenshot. The plug-in
is the bundle pixels-krita.zip (packaging/build_plugins.py), unzipped as Krita does.
"""

import json
import socket
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests import test_hosts
from tests.hosts import hostrun
from tests.hosts.fixtures.krita_plugin import krita_scene as scene

hosts_root, hosts = test_hosts.hosts_root, test_hosts.hosts  # the chroot fixtures
FIXTURE = hostrun.HERE / "fixtures" / "krita_plugin"
W, H = scene.W, scene.H


@pytest.fixture(scope="module")
def plugin(tmp_path_factory, bundles) -> Path:
    """The bundle pixels-krita.zip unpacked as Krita's importer does (its root holds
    pixels_krita.desktop and pixels_krita/, with pixels_client and websockets inside)."""
    folder = tmp_path_factory.mktemp("pykrita")
    with zipfile.ZipFile(bundles / "pixels-krita.zip") as z:
        z.extractall(folder)
    return folder


def test_edit_inside_krita(hosts, plugin, server):
    out = hosts.work / "out"
    out.mkdir()
    env = {
        "QT_QPA_PLATFORM": "offscreen",
        "PYTHONPATH": f"{hosts.bind(plugin, '/pixels/pykrita')}:{hosts.bind(FIXTURE, '/pixels/t')}",
        "PIXELS_URL": server.url,
        "PIXELS_DOWN_URL": f"127.0.0.1:{closed_port()}",
        "PIXELS_OUT": hosts.inside(out),
    }
    run = hosts.run(["kritarunner", "-s", "krita_edit", "-f", "main"], env=env, timeout=150)
    assert "PIXELS-KRITA-DONE" in run.stdout, run.describe()
    facts = json.loads((out / "facts.json").read_text())
    assert facts["edit"] == ["finished", None], facts

    # The new layer: named for its seed, right above the source, covering the canvas.
    layer = facts["layer"]
    assert layer["name"] == "PIXELS edit (seed 11)"
    assert layer["above_source"] and layer["bounds"] == [0, 0, W, H]
    assert facts["maps_sent"] == [True, True, False]
    assert facts["progress_events"] >= 1 and facts["previews"] >= 1

    # Where every map is white the pixels are the source's, bit for bit; the rest changed.
    source = np.frombuffer((out / "source.bgra").read_bytes(), np.uint8).reshape(H, W, 4)
    result = np.frombuffer((out / "result.bgra").read_bytes(), np.uint8).reshape(H, W, 4)
    kept = np.ones((H, W), bool)
    grow = int(scene.TRANSITION) + 1
    x0, y0, x1, y1 = scene.PATCH
    for a0, b0, a1, b1 in (
        scene.LAKE_MASK,
        scene.RUG_MAP,
        (x0 - grow, y0 - grow, x1 + grow, y1 + grow),
    ):
        kept[b0:b1, a0:a1] = False
    assert np.array_equal(result[kept], source[kept])
    for a0, b0, a1, b1 in (scene.LAKE_MASK, scene.RUG_MAP, scene.PATCH):
        assert not np.array_equal(result[b0:b1, a0:a1], source[b0:b1, a0:a1])

    # BGRA handled both ways: red went out as R, G, B, A and came back as B, G, R, A.
    assert facts["sent_red"] == [255, 0, 0, 255]
    x, y = scene.RED_BOX[:2]
    assert result[y + 5, x + 5].tolist() == [0, 0, 255, 255]

    # Cancelled and failed edits leave the document as it was.
    assert facts["cancel"] == ["cancelled", None], facts
    assert facts["unchanged_after_cancel"] and facts["unchanged_after_edit_removed"]
    kind, message = facts["down"]
    assert kind == "failed" and message.startswith("Server not running: no PIXELS server at")
    assert facts["unchanged_after_down"]
    assert facts["names"] == ["Source", "Lake", "Rug", "Rug map", "Patch"]

    # The other map sources: a selection mask and the document's selection, inverted.
    assert facts["selection_mask_map"] and facts["selection_map"], facts
    assert facts["visible_result_on_top"], facts


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_docker_in_krita_app(hosts, plugin, server):
    hosts.install_krita_plugin(plugin, "pixels_krita")
    hosts.install_krita_plugin(FIXTURE, "pixels_krita_drive")
    with (hosts.home / ".config/kritarc").open("a") as f:
        f.write(f"[pixels_krita]\nurl={server.url}\n")
    shots = hosts.work / "shots"
    shots.mkdir()
    run = hosts.krita(env={"PIXELS_SHOT_DIR": hosts.inside(shots)}, timeout=150)
    assert run.returncode in (0, hostrun.KRITA_SEGFAULT), run.describe()
    line = next((x for x in run.stdout.splitlines() if x.startswith("PIXELS-APP ")), None)
    assert line is not None, run.describe()
    seen = json.loads(line.split(" ", 1)[1])
    why = f"{seen}\n{run.describe()}"
    assert seen["docker"] and seen["visible"], why
    assert seen["status"].startswith("Connected to PIXELS") and "tiny on cpu" in seen["status"]
    assert seen["history"] == 1 and seen["message"].startswith("Done in"), why
    assert seen["layers"][:2] == ["Background", "Source"], why
    assert seen["layers"][2].startswith("PIXELS edit (seed "), why
    assert seen["map_choice"] == "Auto (from its alpha)", why
    assert seen["progress"] >= 1, why
    edited = seen["layers"][2]
    assert seen["layers_again"] == ["Background", "Source", edited, edited, "Exemplar"], why
    assert seen["history_after_discard"] == 0, why
    for name in ("window.png", "docker.png", "panel.png"):
        image = Image.open(shots / name).convert("RGB")
        assert len(image.getcolors(maxcolors=1 << 20)) > 50, f"{name} is nearly uniform"
