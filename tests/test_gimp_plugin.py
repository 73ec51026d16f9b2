"""The GIMP plug-in inside the real GIMP 3.0.4 (tests/hosts/), against a real server.

The plug-in is what artists get: the bundle pixels-gimp.zip (packaging/build_plugins.py),
installed by `pixels install-plugin gimp --bundle` into a fresh GIMP profile, and called
NONINTERACTIVE through the PDB by a batch script (hosts/fixtures/gimp_pixels_batch.py)
that builds the images, runs the cases and saves every layer's pixels before and after.
Three GIMP runs: the edits, the failures (in gimp-console), and the dialog (in the whole
GIMP on Xvfb).
"""

import json
import threading
import time
import urllib.request

import numpy as np
import pytest
from serving import LONG, ServerProcess
from websockets.sync.server import serve

from pixels_cli.install import config_dirs, install
from tests.hosts import hostrun
from tests.test_hosts import hosts_root  # noqa: F401 (the chroot fixture)

FIXTURES = hostrun.HERE / "fixtures"
QUICK = {"steps": 4, "strength": 0.5, "seed": 11, "transition": 8.0}
RESULT = "PIXELS edit (seed 11)"
TOKEN = "right-token"


class Run:
    """What the batch script reported, and the pixels it saved (raw, per layer)."""

    def __init__(self, report: dict, out, log: str):
        self.report, self.out, self.log = report, out, log

    def pixels(self, case: str, layer: str, tag: str, channels=4, dtype=np.uint8):
        entry = next(e for e in self.report[case][tag] if e["name"] == layer)
        data = np.frombuffer((self.out / f"{case}-{layer}.{tag}").read_bytes(), dtype)
        return data.reshape(entry["h"], entry["w"], channels)

    def untouched(self, case: str) -> None:
        """Every layer (and mask) that was there before has the same pixels after."""
        saved = sorted(self.out.glob(f"{case}-*.before"))
        assert saved, f"no pixels saved for {case}"
        for before in saved:
            after = before.with_suffix(".after")
            assert before.read_bytes() == after.read_bytes(), before.name


def run_cases(root, tmp_path, bundles, cases: list[dict], gui: bool = False) -> Run:
    """Install the bundle into the chroot user's GIMP profile and run the batch script over
    `cases` in gimp-console, or in the whole GIMP on a virtual display (`gui`)."""
    hosts = hostrun.Hosts(root, tmp_path)
    plugins = config_dirs("linux", {}, hosts.home)["gimp"]
    install("gimp", plugins, bundles / "pixels-gimp.zip")
    script = hosts.bind(FIXTURES, "/pixels/fixtures") + "/gimp_pixels_batch.py"
    out = tmp_path / "out"
    out.mkdir()
    spec = {"out": hosts.inside(out), "cases": cases}
    code = f"SPEC = {spec!r}; exec(open({script!r}).read())"
    result = (hosts.gimp_gui_batch if gui else hosts.gimp_batch)(code, timeout=240)
    assert result.returncode == 0 and "PIXELS-BATCH done" in result.stdout, result.describe()
    report = json.loads((out / "report.json").read_text())
    for name, case in report.items():
        assert "exception" not in case, f"{name}:\n{case['exception']}"
    return Run(report, out, result.stderr)


@pytest.fixture(scope="module")
def edits(hosts_root, tmp_path_factory, server, bundles):  # noqa: F811
    settings = {**QUICK, "server": server.url}
    names = ("rgb", "deep", "grey", "visible", "layer-map")
    cases = [{"name": name, "settings": settings} for name in names]
    return run_cases(hosts_root, tmp_path_factory.mktemp("gimp-edits"), bundles, cases)


@pytest.fixture(scope="module")
def failures(hosts_root, tmp_path_factory, server, bundles):  # noqa: F811
    """One GIMP run over every way an edit can fail; `locked` (a server with a token)
    refuses a wrong token, then is stopped while it runs a job."""
    locked = ServerProcess("--token", TOKEN)
    old = start_old_server()
    threading.Thread(target=stop_when_running, args=(locked,), daemon=True).start()
    try:
        specs = [
            {"name": "down", "server": "ws://127.0.0.1:9"},
            {"name": "token", "server": locked.url, "token": "wrong-token"},
            {"name": "version", "server": f"ws://127.0.0.1:{old.socket.getsockname()[1]}"},
            {"name": "refused", "server": server.url, "prompt": "x" * 2500},
            {"name": "stopped", "server": locked.url, "token": TOKEN, **LONG},
            {"name": "cancel", "server": server.url, **LONG, "kill": True},
            {"name": "alone", "server": server.url, "select": ["source"]},
            {"name": "unselected", "server": server.url, "edit-map": "selection"},
        ]
        cases = [
            {"kind": "failure", "http": server.http, **case, "settings": settings(case)}
            for case in specs
        ]
        return run_cases(hosts_root, tmp_path_factory.mktemp("gimp-failures"), bundles, cases)
    finally:
        old.shutdown()
        locked.stop()


def settings(case: dict) -> dict:
    """The plug-in's arguments among a case's keys, over the quick defaults."""
    names = ("server", "token", "prompt", "edit-map", *LONG)
    return {**QUICK, **{k: v for k, v in case.items() if k in names}}


def stop_when_running(server: ServerProcess) -> None:
    """Stop the server once a job runs on it (the plug-in is then waiting for steps)."""
    request = urllib.request.Request(
        server.http + "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and server.process.poll() is None:
        with urllib.request.urlopen(request, timeout=5) as reply:
            if json.loads(reply.read())["running"]:
                time.sleep(0.5)
                server.stop()
                return
        time.sleep(0.1)


def start_old_server():
    """A server that speaks another protocol version: it refuses the hello."""

    def refuse(ws):
        ws.recv()
        message = "this server speaks protocol 2: update the plug-in"
        reply = {"type": "error", "code": "version_mismatch", "field": "protocol"}
        ws.send(json.dumps({**reply, "message": message}))

    old = serve(refuse, "127.0.0.1", 0)
    threading.Thread(target=old.serve_forever, daemon=True).start()
    return old


def layers(entries: list[dict]) -> list[tuple]:
    return [(e["name"], e["x"], e["y"], e["w"], e["h"]) for e in entries]


def test_result_is_a_new_layer_above_the_source_with_its_size_and_offset(edits):
    report = edits.report
    case = report["rgb"]
    assert case["status"] == ["success", None]
    before, after = layers(case["before"]), layers(case["after"])
    source = before[2]
    assert source[0] == "source"
    assert after == [*before[:2], (RESULT, *source[1:]), *before[2:]]


def test_nothing_else_changes_and_untouched_pixels_are_the_source(edits):
    edits.untouched("rgb")
    source = edits.pixels("rgb", "source", "before")
    result = edits.pixels("rgb", RESULT, "after")
    same = (source == result).all(axis=-1)
    # far from both exemplars the map is white: exactly the source
    assert same[:8].all() and same[:, 48:64].all() and same[60:, :56].all()
    # the lake (masked to its right half: canvas x 12..43, y 10..57) and the rug changed
    assert not same[20:50, 16:40].any()
    assert not same[50:70, 82:94].all()
    # the lake's masked-out left half and the part of the canvas it does not cover stay
    assert same[20:50, :10].all()


def test_parameters_are_a_persistent_parasite_that_survives_the_xcf(edits):
    report = edits.report
    result = next(e for e in report["rgb"]["after"] if e["name"] == RESULT)
    record = json.loads(result["parasite"])
    assert record["version"] == 1 and record["model"] == "tiny"
    settings = record["settings"]
    assert settings["seed"] == 11 and settings["steps"] == 4 and settings["strength"] == 0.5
    assert settings["source"] == "lowest" and settings["edit-map"] == "alpha"
    assert settings["server"].startswith("ws://127.0.0.1:") and "token" not in settings
    params = record["params"]
    assert params["seed"] == 11 and params["negative_prompt"] == "" and params["transition"] == 8
    reloaded = dict(report["rgb"]["reloaded"])
    assert json.loads(reloaded[RESULT]) == record
    assert [name for name, parasite in reloaded.items() if parasite] == [RESULT]


def test_high_bit_depth_keeps_unchanged_pixels_exact(edits):
    report, pixels = edits.report, edits.pixels
    case = report["deep"]
    assert case["status"] == ["success", None] and case["precision"] == "u16-non-linear"
    assert layers(case["after"])[2] == (RESULT, 30, 20, 224, 176)
    source = pixels("deep", "source", "before", dtype=np.uint16)
    result = pixels("deep", RESULT, "after", dtype=np.uint16)
    region = json.loads(next(e for e in case["after"] if e["name"] == RESULT)["parasite"])["region"]
    x0, y0, x1, y1 = region
    assert (x1, y1) < (224, 176), "the region should leave part of the canvas out"
    exact = (source == result).all(axis=-1)
    outside = np.ones(exact.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert exact[outside].all()
    # the edit went through 8-bit sRGB; a pixel it kept is the 16-bit source, never the
    # source rounded to 8 bits (v * 255 / 65535 rounded, * 257 back)
    rounded = np.round(source.astype(float) * 255 / 65535).astype(np.uint16) * 257
    assert not ((rounded == result).all(axis=-1) & ~exact).any()
    assert exact[y0:y1, x0:x1].mean() > 0.5 and not exact[10:50, 20:40].any()


def test_grey_image_gets_a_grey_layer_and_the_selection_is_the_map(edits):
    report, pixels = edits.report, edits.pixels
    case = report["grey"]
    assert case["status"] == ["success", None]
    result = next(e for e in case["after"] if e["name"] == RESULT)
    assert result["grey"] and result["alpha"]
    assert json.loads(result["parasite"])["settings"]["edit-map"] == "selection"
    source = pixels("grey", "source", "before", 2)
    edited = pixels("grey", RESULT, "after", 2)
    same = (source == edited).all(axis=-1)
    assert same[:10].all() and same[40:].all() and same[:, :18].all()  # outside the selection
    assert not same[14:34, 22:42].all()


def test_visible_image_source_with_a_channel_as_map(edits):
    report, pixels = edits.report, edits.pixels
    case = report["visible"]
    assert case["status"] == ["success", None] and case["images"] == 1 and case["channel_kept"]
    assert layers(case["after"]) == [(RESULT, 0, 0, 160, 120), *layers(case["before"])]
    edits.untouched("visible")
    # the source is the visible image without the exemplars: the background, the
    # source layer over it; where the maps are white the result is exactly that
    composite = pixels("visible", "background", "before").copy()
    composite[20:100, 30:126] = pixels("visible", "source", "before")
    same = (pixels("visible", RESULT, "after") == composite).all(axis=-1)
    assert same[:25].all() and same[:, :40].all() and same[:, 138:].all() and same[100:].all()
    assert not same[35:75, 45:70].any()  # the lake's mask
    assert not same[70:90, 110:130].all()  # the rug, inside the channel's square
    assert same[30:56, 76:].all()  # above the square: the rug's alpha is not its map


def test_a_grey_layer_with_an_offset_as_map(edits):
    case = edits.report["layer-map"]
    assert case["status"] == ["success", None]
    edits.untouched("layer-map")
    source = edits.pixels("layer-map", "source", "before")
    same = (source == edits.pixels("layer-map", RESULT, "after")).all(axis=-1)
    # canvas coordinates: the white square is x 66..105 (clipped at 96), y 36..75
    assert same[:36].all() and same[:, :66].all() and same[76:].all()
    assert (~same[36:76, 66:96]).mean() > 0.95


@pytest.mark.parametrize(
    "name, words",
    [
        ("down", "no PIXELS server at ws://127.0.0.1:9"),
        (
            "token",
            "token is required: send the header Authorization: Bearer TOKEN. Check the Token",
        ),
        ("version", "protocol 2"),
        ("refused", "prompt"),
        ("alone", "select exemplar layers"),
        ("unselected", "nothing is selected"),
        ("stopped", "server"),
    ],
)
def test_failure_gives_a_clear_message_and_leaves_the_image(failures, name, words):
    report = failures.report
    case = report[name]
    status, message = case["status"]
    assert status == "execution-error" and message.startswith("PIXELS: ")
    assert words in message
    assert case["after"] == case["before"]
    failures.untouched(name)


def test_cancel_ends_the_job_on_the_server_and_leaves_the_image(failures):
    report = failures.report
    case = report["cancel"]
    assert case["killed"], "the plug-in process was not found while its job ran"
    assert case["status"][0] != "success"
    latest = case["jobs"][0]  # the server lists recent jobs newest first
    assert latest["state"] == "cancelled" and latest["steps"] == LONG["steps"]
    assert case["after"] == case["before"]
    failures.untouched("cancel")


def test_interactive_run_opens_the_dialog_cleanly(hosts_root, tmp_path, bundles):  # noqa: F811
    """The whole GIMP on Xvfb: the auto-built dialog opens without a warning about our
    arguments and waits for the user; GIMP's Cancel (the process ended) changes nothing."""
    run = run_cases(hosts_root, tmp_path, bundles, [{"name": "dialog"}], gui=True)
    case = run.report["dialog"]
    assert case["killed"] and case["waited"] >= 5, "the plug-in did not wait in its dialog"
    assert case["status"] != "success"
    assert case["after"] == case["before"]
    run.untouched("dialog")
    ours = [line for line in run.log.splitlines() if "pixels" in line.lower()]
    assert not [line for line in ours if "mnemonic" in line or "CRITICAL" in line], ours
    assert "Traceback" not in run.log
