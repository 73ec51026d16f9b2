"""The GIMP plug-in inside the real GIMP 3.0.4 and 3.2 (tests/hosts/), against a real server.

The plug-in is what artists get: the bundle pixels-gimp.zip (packaging/build_plugins.py),
installed by `pixels install-plugin gimp`'s code into the GIMP profile the chroot's GIMP
reads, and called through the PDB by a batch script (hosts/fixtures/gimp_pixels_batch.py)
that builds the images, runs the cases and saves every layer's and channel's pixels and
the flattened picture before and after. Four GIMP runs per version: the edits, the
failures (both in gimp-console), the dialogs (in the whole GIMP on Xvfb, read back from
their widgets by hosts/fixtures/gimp_watch), and the registration of a plug-in whose
schema has one parameter more.
"""

import importlib.util
import json
import shutil
import threading
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from serving import CACHE, LONG, ServerProcess
from websockets.sync.server import serve

from pixels_cli.install import config_dirs, destinations, install
from pixels_contract import schema
from pixels_engine.builtins import TINY
from tests.hosts import hostrun
from tests.test_hosts import hosts_root  # noqa: F401 (the chroot fixture)

FIXTURES = hostrun.HERE / "fixtures"
QUICK = {"steps": 4, "strength": 0.5, "seed": 11, "random-seed": False, "transition": 8.0}
RESULT = "PIXELS edit (seed 11)"
MAP_NAME = "PIXELS edit map"
BIG_SEED = 4_000_000_000  # above 2^31: GIMP's int arguments stop there
TOKEN = "right-token"
SECRET = "typed-in-the-dialog"  # a token that must never be written in clear
SEEN = f"{hostrun.WORK}/seen.jsonl"  # what the plug-in's dialogs showed, a JSON line each
PICK = f"{hostrun.WORK}/pick.txt"  # the model a person picks from the dialog's menu
TINY_FOLDER = Path(CACHE) / "models" / TINY["tiny"][0]  # the tiny model, loaded by its path
TRIAL = """
# A parameter added to the schema and nowhere else (tests/test_gimp_plugin.py).
PARAMS = (*PARAMS, Param("trial", NUMBER, 0.25, "Trial", "Added to the schema alone", "maps",
                         minimum=0.0, maximum=2.0, step=0.05, digits=2))
BY_NAME = {p.name: p for p in PARAMS}
DEFAULTS = {p.name: p.default for p in PARAMS}
"""


class Run:
    """What the batch script reported, and the pixels it saved (raw, per layer)."""

    def __init__(self, report: dict, out, log: str):
        self.report, self.out, self.log = report, out, log

    def layer(self, case: str, name: str, tag: str = "after") -> dict:
        return next(e for e in self.report[case][tag]["layers"] if e["name"] == name)

    def pixels(self, case: str, name: str, tag: str = "after", channels=4, dtype=np.uint8):
        if name in ("flat", "bare", "selection") or name.startswith("channel-"):
            w, h = self.report[case][tag]["size"]
            channels = 4 if name in ("flat", "bare") else 1
        else:
            entry = self.layer(case, name.removesuffix("-mask"), tag)
            w, h = entry["w"], entry["h"]
        data = np.frombuffer((self.out / f"{case}-{name}.{tag}").read_bytes(), dtype)
        return data.reshape(h, w, channels)

    def alpha(self, case: str, name: str, tag: str = "after", dtype=np.uint8):
        channels = 2 if self.layer(case, name, tag)["grey"] else 4
        return self.pixels(case, name, tag, channels, dtype)[..., -1]

    def untouched(self, case: str, before: str = "before", after: str = "after") -> None:
        """Every layer, mask and channel that was there before has the same pixels after."""
        saved = sorted(self.out.glob(f"{case}-*.{before}"))
        assert saved, f"no pixels saved for {case}"
        for path in saved:
            if path.stem.removeprefix(f"{case}-") not in ("flat", "bare", "selection"):
                later = path.with_suffix(f".{after}")
                assert path.read_bytes() == later.read_bytes(), path.name


def run_cases(root, tmp_path, bundle, cases: list[dict], gui: bool = False) -> Run:
    """Install `bundle` (a zip or a folder) with `pixels install-plugin`'s code into the
    chroot user's GIMP profile (made first, as GIMP makes it on its first start), and run
    the batch script over `cases` in gimp-console, or in the whole GIMP (`gui`)."""
    hosts = hostrun.Hosts(root, tmp_path)
    dirs = config_dirs("linux", {}, hosts.home)
    (dirs["gimp"] / hosts.gimp_version).mkdir(parents=True)
    for dest in destinations("gimp", dirs):
        install("gimp", dest, bundle)
    fixtures = hosts.bind(FIXTURES, "/pixels/fixtures")
    script = f"{fixtures}/gimp_pixels_batch.py"
    out = tmp_path / "out"
    out.mkdir()
    spec = {"out": hosts.inside(out), "script": script, "cases": cases}
    code = f"SPEC = {spec!r}; exec(open({script!r}).read())"
    if gui:  # what the plug-in's dialogs show is read by gimp_watch/sitecustomize.py
        watch = {"PYTHONPATH": f"{fixtures}/gimp_watch", "PIXELS_DIALOG_SEEN": SEEN}
        watch["PIXELS_DIALOG_PICK"] = PICK
        result = hosts.gimp_gui_batch(code, timeout=300, env=watch)
    else:
        result = hosts.gimp_batch(code, timeout=300)
    assert result.returncode == 0 and "PIXELS-BATCH done" in result.stdout, result.describe()
    report = json.loads((out / "report.json").read_text())
    for name, case in report.items():
        assert "exception" not in case, f"{name}:\n{case['exception']}"
    return Run(report, out, result.stdout + result.stderr)


@pytest.fixture(scope="module")
def edits(hosts_root, tmp_path_factory, server, bundles):  # noqa: F811
    settings = {**QUICK, "server": server.url}
    names = ("rgb", "composite", "deep", "grey", "selection", "feathered", "visible", "layer-map")
    names += ("groups", "grown")
    cases = [{"name": name, "settings": settings} for name in names]
    cases.append({"name": "rerun", "settings": {**settings, "seed": BIG_SEED}})
    zipped = bundles / "pixels-gimp.zip"
    return run_cases(hosts_root, tmp_path_factory.mktemp("gimp-edits"), zipped, cases)


@pytest.fixture(scope="module")
def failures(hosts_root, tmp_path_factory, server, bundles):  # noqa: F811
    """One GIMP run over every way an edit can fail; `locked` (a server with a token)
    refuses a wrong or missing token, loads another model for an edit that asks for one,
    then is stopped while it runs a long job."""
    locked = ServerProcess("--token", TOKEN)
    old = start_old_server()
    threading.Thread(target=stop_when_running, args=(locked,), daemon=True).start()
    try:
        specs = [
            {"name": "down", "server": "ws://127.0.0.1:9"},
            {"name": "port", "server": "ws://127.0.0.1:78710"},
            {"name": "spaced", "server": f" {server.url.removeprefix('ws://')} "},
            {"name": "token", "server": locked.url, "token": "wrong-token"},
            {"name": "no-token", "server": locked.url},
            {"name": "version", "server": f"ws://127.0.0.1:{old.socket.getsockname()[1]}"},
            {"name": "prompt", "server": server.url, "prompt": "x" * 2500},
            {"name": "quantise", "server": server.url, "quantise": 1},
            {"name": "steps", "server": server.url, "steps": 200},
            {"name": "model", "server": server.url, "model": "/no/such/model"},
            {"name": "alone", "server": server.url, "select": ["source"]},
            {"name": "far", "server": server.url, "far": True},
            {"name": "load", "server": locked.url, "token": TOKEN, "model": str(TINY_FOLDER)},
            {"name": "stopped", "server": locked.url, "token": TOKEN, **LONG},
            {"name": "cancel", "server": server.url, **LONG, "kill": True},
        ]
        cases = [
            {"kind": "attempt", "http": server.http, **case, "settings": settings(case)}
            for case in specs
        ]
        zipped = bundles / "pixels-gimp.zip"
        return run_cases(hosts_root, tmp_path_factory.mktemp("gimp-failures"), zipped, cases)
    finally:
        old.shutdown()
        locked.stop()


def settings(case: dict) -> dict:
    """The plug-in's arguments among a case's keys, over the quick defaults."""
    names = ("server", "token", "prompt", "quantise", "steps", "model", *LONG)
    return {**QUICK, **{k: v for k, v in case.items() if k in names}}


def stop_when_running(server: ServerProcess) -> None:
    """Stop the server once a long job runs on it (the plug-in is then waiting for steps)."""
    request = urllib.request.Request(
        server.http + "/v1/status", headers={"Authorization": f"Bearer {TOKEN}"}
    )
    deadline = time.monotonic() + 200
    while time.monotonic() < deadline and server.process.poll() is None:
        with urllib.request.urlopen(request, timeout=5) as reply:
            if any(job["steps"] == LONG["steps"] for job in json.loads(reply.read())["running"]):
                time.sleep(0.5)
                server.stop()
                return
        time.sleep(0.1)


def start_old_server():
    """A server that speaks another protocol version: it refuses the hello."""

    def refuse(ws):
        ws.recv()
        message = "this server speaks protocol 99: update the plug-in"
        reply = {"type": "error", "code": "version_mismatch", "field": "protocol"}
        ws.send(json.dumps({**reply, "message": message}))

    old = serve(refuse, "127.0.0.1", 0)
    threading.Thread(target=old.serve_forever, daemon=True).start()
    return old


def stack(snapshot: dict) -> list[tuple]:
    return [(e["name"], e["x"], e["y"], e["w"], e["h"]) for e in snapshot["layers"]]


def seed_of(entry: dict) -> int:
    return json.loads(entry["parasite"])["params"]["seed"]


# --- the registration: arguments from the schema ------------------------------------------


def test_a_parameter_added_to_the_schema_appears_in_gimp(hosts_root, tmp_path, bundles):  # noqa: F811
    """The bundle with one parameter appended to its schema, and nothing else changed,
    installed into the profile of this GIMP: both procedures' arguments, read back from
    GIMP's PDB, are the schema's (names, kinds, bounds, defaults, choices, labels)."""
    bundle = tmp_path / "bundle"
    shutil.copytree(bundles / "pixels-gimp", bundle)
    contract = bundle / "pixels_gimp/pixels_contract/schema.py"
    contract.write_text(contract.read_text() + TRIAL)
    spec = importlib.util.spec_from_file_location("trial_schema", contract)
    trial = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(trial)
    run = run_cases(hosts_root, tmp_path / "gimp", bundle, [{"name": "arguments"}])
    for procedure in ("plug-in-pixels-exemplar-edit", "plug-in-pixels-show-edit-map"):
        pdb = {e["name"]: e for e in run.report["arguments"][procedure]}
        assert "trial" in pdb and pdb["trial"]["maximum"] == 2.0
        for p in trial.PARAMS:
            check_argument(pdb, p)
        hosts = {"source", "edit-map", "map-drawable", "ignore-selection", "server", "token"}
        assert hosts | {"model"} <= set(pdb)
        nicks = [e["nick"] for e in pdb.values() if "_" in e["nick"]]
        keys = [n[n.index("_") + 1].lower() for n in nicks]
        assert len(keys) == len(set(keys)), "two controls share a mnemonic"


def check_argument(pdb: dict, p) -> None:
    name = p.name.replace("_", "-")
    kinds = {
        schema.TEXT: "gchararray",
        schema.NUMBER: "gdouble",
        schema.INTEGER: "gint",
        schema.BOOLEAN: "gboolean",
        schema.CHOICE: "gchararray",
    }
    if p.kind == schema.RANGE:
        for end, default in zip(("low", "high"), p.default, strict=True):
            entry = pdb[f"{name}-{end}"]
            assert entry["type"] == "gdouble" and entry["default_value"] == default
            assert (entry["minimum"], entry["maximum"]) == (p.minimum, p.maximum)
        return
    if p.kind == schema.SEED:
        entry = pdb[name]
        assert entry["type"] == "guint"
        assert (entry["minimum"], entry["maximum"]) == (schema.SEED_MIN, schema.SEED_MAX)
        assert pdb[f"random-{name}"]["default_value"] is (p.default is None)
    else:
        entry = pdb[name]
        assert entry["type"] == kinds[p.kind], name
        assert entry["default_value"] == p.default, name
    if p.kind in (schema.NUMBER, schema.INTEGER):
        assert (entry["minimum"], entry["maximum"]) == (p.minimum, p.maximum), name
    if p.kind == schema.CHOICE:
        assert entry["choices"] == [list(c) for c in p.choices], name
    assert entry["nick"].replace("_", "").startswith(p.label), name
    assert entry["blurb"] == p.help, name


# --- edits ---------------------------------------------------------------------------------


def test_result_is_a_new_layer_above_the_source_showing_only_the_edit(edits):
    case = edits.report["rgb"]
    assert case["status"] == ["success", None]
    before, after = stack(case["before"]), stack(case["after"])
    source = before[2]
    assert source[0] == "source"
    assert after == [*before[:2], (RESULT, *source[1:]), *before[2:]]
    edits.untouched("rgb")
    alpha = edits.alpha("rgb", RESULT)
    # far from both exemplars the map is white: nothing there, the source shows
    assert not alpha[:8].any() and not alpha[:, 48:64].any() and not alpha[60:, :56].any()
    # the lake (masked to its right half: canvas x 12..43, y 10..57) and the rug changed
    assert alpha[20:50, 16:40].all()
    assert alpha[50:70, 82:94].any()
    # the lake's masked-out left half and the part of the canvas it does not cover stay
    assert not alpha[20:50, :10].any()
    # outside the edit the picture is the one before, the exemplars hidden (Hide exemplars)
    bare, flat_after = edits.pixels("rgb", "bare", "before"), edits.pixels("rgb", "flat")
    x, y = 30, 20  # the source's offsets: where the canvas is in the image
    unchanged = np.ones(bare.shape[:2], bool)
    unchanged[y : y + 80, x : x + 96] = alpha == 0
    assert (bare == flat_after)[unchanged].all()


def test_the_edit_shows_at_once_its_exemplars_hidden(edits):
    """The exemplars lie above the source and would cover the result: they are hidden
    (Hide exemplars, on by default), and the message names them. So the picture shows
    the edit where the lake covered the source (image x 42..73, y 30..77), and the result
    shows through wherever it is opaque."""
    hidden = {e["name"]: e["visible"] for e in edits.report["rgb"]["after"]["layers"]}
    assert not hidden["lake"] and not hidden["rug"] and hidden["source"] and hidden[RESULT]
    assert "hid the exemplar layers 'rug', 'lake' so that the edit shows" in edits.log
    before, after = edits.pixels("rgb", "flat", "before"), edits.pixels("rgb", "flat")
    changed = (before != after).any(-1)
    assert changed[30:78, 42:74].mean() > 0.9
    alpha = edits.alpha("rgb", RESULT)
    result = edits.pixels("rgb", RESULT)[..., :3]
    assert (after[20:100, 30:126, :3] == result)[alpha == 255].all()


def test_a_feathered_selection_limits_every_map_by_one_rule(edits):
    """Two opaque exemplars in a selection feathered by 30 px. The channel Show Edit Map
    adds is the map the edit uses: the map without the selection, m, limited as the
    contract says, 1 - (1 - m) x s (within the server's snapping of near-white and
    8-bit rounding); one channel however often it is shown. The result is opaque exactly
    where it differs from the source: nothing where that map is white."""
    case = edits.report["feathered"]
    assert case["shown"] == [["success", None]] * 3 and case["status"] == ["success", None]
    assert case["channels"] == [MAP_NAME]
    edits.untouched("feathered")
    whole, limited = (np.array(m, float).reshape(120, 160) for m in case["maps"])
    s = edits.pixels("feathered", "selection", "before")[..., 0] / 255.0
    assert 0.05 < s[25:95, 35:121].mean() < 0.95 and ((s > 0.05) & (s < 0.95)).sum() > 2000
    expected = 255.0 * np.vectorize(schema.limit_map)(whole / 255.0, s)
    assert np.abs(limited - expected).max() <= 6
    assert (limited < 250).sum() > 500 and (whole < limited - 20).sum() > 200
    alpha = edits.alpha("feathered", RESULT)
    assert set(np.unique(alpha)) == {0, 255}
    shown = limited[20:100, 30:126]
    assert not alpha[shown == 255].any()
    result = edits.pixels("feathered", RESULT)
    source = edits.pixels("feathered", "source", "before")
    assert (result[..., :3] != source[..., :3]).any(-1)[alpha == 255].all()
    bare, after = edits.pixels("feathered", "bare", "before"), edits.pixels("feathered", "flat")
    outside = np.ones(s.shape, bool)
    outside[20:100, 30:126] = alpha == 0
    assert (bare == after)[outside].all()


def test_a_map_grown_past_the_selection_changes_nothing_outside_it(edits):
    """An exemplar near the edge of a selection feathered by 10 px, the map grown by
    24 px: the map tools act after the selection's limit, so the server's map (Show Edit
    Map) takes pixels outside the selection. Yet the result is opaque exactly where a
    pixel changed inside the selection (s > 0), fully (the selection's softness is in
    the maps, not in the result's alpha), and the picture outside the selection is the
    one before."""
    case = edits.report["grown"]
    assert case["shown"] == ["success", None] and case["status"] == ["success", None]
    edits.untouched("grown")
    s = edits.pixels("grown", "selection", "before")[..., 0]
    shown = np.array(case["map"], np.uint8).reshape(s.shape)
    assert (shown[s == 0] < 128).sum() > 200, "the grown map should reach past the selection"
    alpha = edits.alpha("grown", RESULT)
    inside = s[20:100, 30:126] > 0
    assert not alpha[~inside].any()
    assert set(np.unique(alpha)) == {0, 255}
    taken = (shown[20:100, 30:126] == 0) & inside
    assert alpha[taken].mean() > 0.9 * 255 and (alpha[taken & (s[20:100, 30:126] < 128)]).any()
    result = edits.pixels("grown", RESULT)
    source = edits.pixels("grown", "source", "before")
    assert (result[..., :3] != source[..., :3]).any(-1)[alpha == 255].all()
    bare, after = edits.pixels("grown", "bare", "before"), edits.pixels("grown", "flat")
    assert (bare == after)[s == 0].all()


def test_parameters_are_a_persistent_parasite_that_survives_the_xcf(edits):
    report = edits.report
    result = edits.layer("rgb", RESULT)
    record = json.loads(result["parasite"])
    assert record["version"] == 2 and record["model"] == "tiny"
    params = record["params"]
    assert params["seed"] == 11 and params["steps"] == 4 and params["strength"] == 0.5
    assert set(params) == {p.name for p in schema.PARAMS}
    assert params["negative_prompt"] == "" and params["transition"] == 8 and params["grow"] == 0
    inputs = record["inputs"]
    assert inputs["source"] == "lowest" and inputs["edit-map"] == "exemplars"
    assert inputs["server"].startswith("ws://127.0.0.1:") and "token" not in inputs
    assert len(record["layers"]["exemplars"]) == 2 and record["layers"]["source"]
    reloaded = dict(report["rgb"]["reloaded"])
    assert json.loads(reloaded[RESULT]) == record
    assert [name for name, parasite in reloaded.items() if parasite] == [RESULT]


def test_the_picture_changes_only_where_the_map_is_below_white(edits):
    """A source with a mask, at 60 % in Multiply mode. Show Edit Map adds one hidden
    channel and changes nothing else; the edit's layer takes the source's mode, opacity
    and mask, and (Hide exemplars off) the flattened picture changes only where that map
    is below white."""
    case = edits.report["composite"]
    assert case["shown"] == ["success", None] and case["status"] == ["success", None]
    mapped = case["mapped"]
    assert mapped["channels"] == [{"name": MAP_NAME, "visible": False}]
    assert stack(mapped) == stack(case["before"])
    assert mapped["selected"] == case["before"]["selected"]
    edits.untouched("composite", "before", "mapped")
    assert (
        edits.pixels("composite", "flat", "before") == edits.pixels("composite", "flat", "mapped")
    ).all()
    edits.untouched("composite")
    result = edits.layer("composite", RESULT)
    assert result["mode"] == "multiply" and result["opacity"] == 60.0 and result["apply_mask"]
    source_mask = edits.pixels("composite", "source-mask", "before", 1)
    assert (edits.pixels("composite", f"{RESULT}-mask", "after", 1) == source_mask).all()
    edit_map = edits.pixels("composite", f"channel-{MAP_NAME}", "mapped")[..., 0]
    same = (edits.pixels("composite", "flat", "before") == edits.pixels("composite", "flat")).all(
        -1
    )
    assert same[edit_map == 255].all()
    assert (edit_map < 255).sum() > 1000 and not same[edit_map < 255].all()


def test_high_bit_depth_keeps_unchanged_pixels_exact(edits):
    case = edits.report["deep"]
    assert case["status"] == ["success", None] and case["precision"] == "u16-non-linear"
    assert stack(case["after"])[2] == (RESULT, 30, 20, 224, 176)
    edits.untouched("deep")
    alpha = edits.alpha("deep", RESULT, dtype=np.uint16)
    x0, y0, x1, y1 = json.loads(edits.layer("deep", RESULT)["parasite"])["region"]
    assert (x1, y1) < (224, 176), "the region should leave part of the canvas out"
    outside = np.ones(alpha.shape, bool)
    outside[y0:y1, x0:x1] = False
    assert not alpha[outside].any()  # the 16-bit source shows there, untouched
    assert alpha[10:50, 20:40].all()


def test_the_selection_limits_the_edit_unless_ignored(edits):
    """Grey image: the selection is x 20..43, y 12..35. RGB image: the selection is the
    image's x 0..79 (canvas x 0..49); the rug (canvas x 70..) lies outside it."""
    grey = edits.report["grey"]
    assert grey["status"] == ["success", None]
    result = edits.layer("grey", RESULT)
    assert result["grey"] and result["alpha"]
    alpha = edits.alpha("grey", RESULT)
    inside = np.zeros(alpha.shape, bool)
    inside[12:36, 20:44] = True
    assert not alpha[~inside].any() and alpha[inside].any()
    case = edits.report["selection"]
    assert case["limited"] == ["success", None] and case["ignored"] == ["success", None]
    edits.untouched("selection", "before", "middle")
    limited = edits.alpha("selection", "limited")
    assert not limited[:, 50:].any() and limited[20:50, 16:40].all()
    same = (
        edits.pixels("selection", "flat", "before") == edits.pixels("selection", "flat", "middle")
    ).all(-1)
    assert same[:, 80:].all()
    assert edits.alpha("selection", RESULT)[40:80, 70:96].any()  # ignored: the rug too


def test_visible_image_source_with_a_channel_as_map(edits):
    case = edits.report["visible"]
    assert case["status"] == ["success", None] and case["images"] == 1
    assert stack(case["after"]) == [(RESULT, 0, 0, 160, 120), *stack(case["before"])]
    result = edits.layer("visible", RESULT)
    assert result["mode"] == "normal" and result["opacity"] == 100.0
    edits.untouched("visible")
    alpha = edits.alpha("visible", RESULT)
    assert not alpha[:25].any() and not alpha[:, :40].any() and not alpha[:, 138:].any()
    assert not alpha[100:].any()
    assert alpha[35:75, 45:70].all()  # the lake's mask
    assert alpha[70:90, 110:130].any()  # the rug, inside the channel's black square
    assert not alpha[30:56, 76:].any()  # above the square: the rug's alpha is not its map


def test_a_map_layer_is_read_over_white_with_its_soft_alpha(edits):
    """The map layer (60x60 at 90,50): opaque black (x 90..109), black at half alpha
    (x 110..129), erased (x 130..149). Shown: black, a grey, white; white around it and
    beyond the source's canvas (x 30..125, y 20..99)."""
    case = edits.report["layer-map"]
    assert case["shown"] == ["success", None] and case["status"] == ["success", None]
    edits.untouched("layer-map")
    shown = np.array(case["map"], np.uint8).reshape(120, 160)
    assert (shown[50:100, 90:110] == 0).all()
    assert ((shown[50:100, 110:126] > 60) & (shown[50:100, 110:126] < 230)).all()
    assert (shown[50:100, 126:] == 255).all() and (shown[:50] == 255).all()
    assert (shown[:, :90] == 255).all()
    alpha = edits.alpha("layer-map", RESULT)  # canvas: the source at 30,20, 96 x 80
    assert not alpha[:30].any() and not alpha[:, :60].any()
    assert alpha[30:80, 60:80].any()


def test_groups_are_read_through_their_projection_and_exemplars_with_their_opacity(edits):
    case = edits.report["groups"]
    assert case["shown"] == [["success", None], ["success", None]]
    full, faint = (np.array(m, np.uint8).reshape(120, 160) for m in case["maps"])
    assert (full[40:80, 50:90] == 0).all() and (full[:40] == 255).all()
    assert (faint == 255).all()  # at 30 % the exemplar is not there (alpha under 1/2)
    assert case["status"] == ["success", None]
    after = stack(case["after"])
    assert after[:2] == [("exemplars", 50, 40, 40, 40), ("blue", 50, 40, 40, 40)]
    assert after[2][0] == RESULT and after[3] == ("picture", 30, 20, 96, 80)
    edits.untouched("groups")
    alpha = edits.alpha("groups", RESULT)  # canvas: the group's projection at 30,20
    assert alpha[20:60, 20:60].all() and not alpha[:18].any() and not alpha[:, 62:].any()


def test_run_again_on_a_result_with_a_large_seed(edits):
    """With the last values, a result layer alone is run again on the settings its record
    holds (seed 4,000,000,000 included): the same pixels. From a script with another
    seed, on the layers it was made from."""
    case = edits.report["rerun"]
    assert case["status"] == [["success", None]] * 3
    first, again = edits.layer("rerun", "first"), edits.layer("rerun", "again")
    assert seed_of(first) == seed_of(again) == BIG_SEED
    assert (first["x"], first["y"]) == (again["x"], again["y"]) == (30, 20)
    same = edits.pixels("rerun", "first") == edits.pixels("rerun", "again")
    assert same.all()
    other = edits.pixels("rerun", "PIXELS edit (seed 7)")
    assert not (other == edits.pixels("rerun", "first")).all()


# --- failures ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name, words",
    [
        ("down", "The PIXELS server is not running at 127.0.0.1:9: start it with pixels serve"),
        ("port", "Address: the port must be a number from 1 to 65535, not '78710'."),
        ("token", "refused the token: check the Token setting"),
        ("no-token", "needs a token: enter the one it was started with in the Token setting"),
        ("version", "are different versions (this server speaks protocol 99"),
        ("prompt", "Prompt: has 2500 characters; at most 2000"),
        ("quantise", "Quantise: must be 0 to 256 levels except 1, not 1"),
        ("steps", "Steps: 200 is over this server's limit of 150."),
        ("model", "could not load the model '/no/such/model': model folder not found"),
        ("alone", "Nothing to edit: select exemplar layers above the source"),
        ("far", "The exemplar 'lake' lies entirely outside the source 'source'"),
        ("stopped", "stopped answering during the edit"),
    ],
)
def test_failure_gives_a_clear_message_and_leaves_the_image(failures, name, words):
    case = failures.report[name]
    status, message = case["status"]
    assert status == "execution-error" and message.startswith("PIXELS: ")
    assert words in message
    assert "--" not in message and "rrno" not in message and "params." not in message
    assert "`" not in message
    assert case["after"] == case["before"]
    failures.untouched(name)


def test_spaces_around_the_address_are_ignored(failures):
    """' 127.0.0.1:PORT ' (as pasted): the edit runs."""
    assert failures.report["spaced"]["status"] == ["success", None]


def test_a_chosen_model_is_loaded_before_the_edit(failures):
    """The server serves `tiny`; the edit asks for the same weights by their folder, so
    the server loads them first (the plug-in follows the load), then edits with them."""
    case = failures.report["load"]
    assert case["status"] == ["success", None]
    record = json.loads(next(e for e in case["after"]["layers"] if "parasite" in e)["parasite"])
    assert record["model"] == str(TINY_FOLDER)


def test_cancel_ends_the_job_on_the_server_and_leaves_the_image(failures):
    case = failures.report["cancel"]
    assert case["killed"], "the plug-in process was not found while its job ran"
    assert case["status"][0] != "success"
    latest = case["jobs"][0]  # the server lists recent jobs newest first
    assert latest["state"] == "cancelled" and latest["steps"] == LONG["steps"]
    assert case["after"] == case["before"]
    failures.untouched("cancel")


# --- the dialog ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dialogs(hosts_root, tmp_path_factory, server, bundles):  # noqa: F811
    """One run of the whole GIMP on Xvfb, four dialogs, each saved as a person sees it
    (a screenshot) and as its widgets hold it (`seen`). GIMP opens a dialog on the last
    values an OK left, so the first OK comes third. First a fresh Exemplar Edit while a
    server serves tiny-flux (FLUX.1 dev's family), cancelled; an Address with a port
    past 65535, OK refused; on a server of its own serving tiny (SD), with a token typed,
    tiny-flux picked from the Model menu, then OK; last, on the SD server, run again on
    an earlier result."""
    tmp_path = tmp_path_factory.mktemp("gimp-dialogs")
    flux, own = ServerProcess("--model", "tiny-flux"), ServerProcess()
    try:
        fresh = {"server": flux.url, "prompt": "a lake at dusk", "steps": 12, "seed": 11}
        again = {**QUICK, "server": server.url, "seed": BIG_SEED, "prompt": "a lake at dusk"}
        picked = {**QUICK, "server": own.url, "prompt": "a lake", "negative-prompt": "blurry"}
        cases = [
            {"name": "flux", "settings": fresh, "keys": ["Escape"]},
            {"name": "address", "settings": {**QUICK, "server": "ws://127.0.0.1:78710"}},
            {"name": "pick", "settings": picked, "pick": "tiny-flux", "token": SECRET},
            {"name": "rerun", "settings": again, "rerun": True},
        ]
        for case in cases:
            case.setdefault("keys", ["Return"])
            case.setdefault("token", "")
            case.update(kind="dialog", shot=f"{hostrun.WORK}/{case['name']}.png")
        return run_cases(hosts_root, tmp_path, bundles / "pixels-gimp.zip", cases, gui=True)
    finally:
        flux.stop()
        own.stop()


def controls_seen(run: Run, case: str) -> dict:
    """label: (value, tooltip) of each control the case's dialog showed."""
    (seen,) = run.report[case]["seen"]
    return {c["label"]: (c["value"], c["tooltip"]) for c in seen}


def test_the_dialog_runs_an_earlier_edit_again(dialogs):
    """Exemplar Edit with a result layer alone selected opens its dialog on that edit's
    settings (seed 4,000,000,000, its server and model over the last values), every
    control shown for an SD model; a person's view of it is saved (rerun.png,
    plugin_gimp/dialog.png), then OK is pressed: the same edit again, as a new layer.
    The token typed in an earlier dialog (shown as dots) is nowhere in GIMP's profile
    afterwards."""
    report = dialogs.report["rerun"]
    assert report["first"] == ["success", None]
    assert report["status"] == "success", (report, report["person"])
    again = f"PIXELS edit (seed {BIG_SEED})"
    names = [entry[0] for entry in stack(report["after"])]
    assert names[:5] == ["rug", "lake", "first", again, "source"]
    assert stack(report["after"])[3][1:] == (30, 20, 96, 80)
    assert (dialogs.pixels("rerun", again) == dialogs.pixels("rerun", "first")).all()
    dialogs.untouched("rerun")
    shown = controls_seen(dialogs, "rerun")
    assert {"Negative prompt", "Guidance", "Guidance rescale", "Steps"} <= set(shown)
    assert shown["Seed"][0] == BIG_SEED and shown["Steps"][0] == QUICK["steps"]
    picture = Image.open(dialogs.out.parent / "rerun.png").convert("RGB")
    assert picture.width > 400 and picture.height > 300 and len(picture.getcolors(1 << 20)) > 50
    ours = [line for line in dialogs.log.splitlines() if "pixels" in line.lower()]
    assert not [line for line in ours if "duplicate mnemonic" in line or "CRITICAL" in line], ours
    assert "Traceback" not in dialogs.log
    profile = [path for path in (dialogs.out.parent / "home").rglob("*") if path.is_file()]
    assert profile and not [path for path in profile if SECRET.encode() in path.read_bytes()]


def test_the_dialog_shows_what_the_serving_family_takes(dialogs):
    """With tiny-flux served, the dialog hides what FLUX.1 dev has no use for (the
    negative prompt, the guidance rescale), says the family's words (its guidance, the
    label and tooltip), and moves a value still at any model's default to the family's
    (guidance 5 to 3.5); one set otherwise stays (steps 12, not 28). Cancel leaves the
    image as it was."""
    report = dialogs.report["flux"]
    assert report["status"] == "cancel", (report, report["person"])
    dialogs.untouched("flux")
    shown = controls_seen(dialogs, "flux")
    flux = {p.name: p for p in schema.family("flux-dev").params()}
    hidden = {schema.BY_NAME[name].label for name in schema.family("flux-dev").unused}
    assert hidden == {"Negative prompt", "Guidance rescale"} and not hidden & set(shown)
    assert shown[flux["guidance"].label] == (3.5, flux["guidance"].help)
    assert shown["Steps"] == (12, flux["steps"].help) and flux["steps"].default == 28
    assert shown["Prompt"][0] == "a lake at dusk" and shown["Seed"][0] == 11
    assert set(shown) >= {"Strength", "Seed", "Random seed", "Levels (low)", "Levels (high)"}


def test_a_model_picked_in_the_dialog_refits_its_controls(dialogs):
    """tiny-flux picked from the Model menu while the server serves tiny (SD): the
    dialog shows what FLUX.1 dev takes, as for a server that serves it (no negative
    prompt, the one typed cleared; guidance in its words, untouched, at its 3.5; steps
    set, kept), and OK loads it and edits with exactly that."""
    report = dialogs.report["pick"]
    assert report["status"] == "success", (report, report["person"])
    shown = controls_seen(dialogs, "pick")
    flux = {p.name: p for p in schema.family("flux-dev").params()}
    assert not {"Negative prompt", "Guidance rescale"} & set(shown)
    assert shown[flux["guidance"].label] == (3.5, flux["guidance"].help)
    assert shown["Steps"][0] == QUICK["steps"] and shown["Hide exemplars"][0] is True
    assert "Serving tiny (Stable Diffusion 1.x/2.x and SDXL)." in shown
    (result,) = [e for e in report["after"]["layers"] if "parasite" in e]
    record = json.loads(result["parasite"])
    assert record["model"] == "tiny-flux" and record["params"]["negative_prompt"] == ""
    assert record["params"]["guidance"] == 3.5 and record["params"]["steps"] == QUICK["steps"]
    assert "Traceback" not in dialogs.log


def test_the_dialog_says_what_is_wrong_with_the_address(dialogs):
    """A port past 65535: the dialog says so under the Server settings as it opens, and OK
    gives the same message, the image untouched."""
    report = dialogs.report["address"]
    words = "Address: the port must be a number from 1 to 65535, not '78710'."
    assert report["status"] == "execution-error" and report["message"] == f"PIXELS: {words}"
    assert words in controls_seen(dialogs, "address")
    dialogs.untouched("address")
