"""The Krita plug-in inside the real Krita (5.2.9 and 5.3, tests/hosts/), against a real
server with the tiny model.

kritarunner runs the plug-in's document logic and its threaded client on a scene an
artist builds (tests/hosts/fixtures/krita_plugin/krita_edit.py); the whole Krita app
under Xvfb loads the plug-in, shows the PIXELS docker and is driven through its own
widgets (pixels_krita_drive). The plug-in is the bundle pixels-krita.zip
(packaging/build_plugins.py), unzipped as Krita does.
"""

import json
import signal
import socket
import threading
import zipfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from serving import ServerProcess

from pixels_contract import schema
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


def dump(out: Path, name: str, channels: int = 4) -> np.ndarray:
    data = np.frombuffer((out / name).read_bytes(), np.uint8)
    return data.reshape(H, W, channels) if channels > 1 else data.reshape(H, W)


def inside(mask: np.ndarray, box) -> bool:
    """Whether every set pixel of `mask` lies in box (x0, y0, x1, y1)."""
    x0, y0, x1, y1 = box
    ys, xs = np.nonzero(mask)
    return bool(((xs >= x0) & (xs < x1) & (ys >= y0) & (ys < y1)).all())


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
    run = hosts.run(["kritarunner", "-s", "krita_edit", "-f", "main"], env=env, timeout=240)
    assert "PIXELS-KRITA-DONE" in run.stdout, run.describe()
    facts = json.loads((out / "facts.json").read_text())
    assert "crash" not in facts, facts["crash"]
    assert facts["edit"] == ["finished", None] and facts["map"] == "finished", facts

    # The rule: the flattened picture changes only where the edit map is below white.
    before, after = dump(out, "before.bgra"), dump(out, "after.bgra")
    changed = (before != after).any(axis=2)
    below_white = dump(out, "map.grey", 1) < 255
    assert changed.any() and not (changed & ~below_white).any()
    assert facts["others_unchanged"] and facts["unchanged_after_layer_removed"], facts

    # The result layer: right above the source, with its opacity, blend mode and mask;
    # the server's pixels exactly where they changed, transparent elsewhere.
    layer = facts["layer"]
    assert layer["name"] == f"PIXELS edit (seed {scene.SEED})", layer
    assert layer["above_source"] and layer["masks"] == ["transparencymask"], layer
    assert (layer["opacity"], layer["blend"]) == (scene.SOURCE_OPACITY, scene.SOURCE_BLEND)
    pixels = dump(out, "layer.bgra")
    result = dump(out, "result.rgba")[..., [2, 1, 0, 3]]  # as B, G, R, A
    source = dump(out, "source.bgra")
    shown = pixels[..., 3] > 0
    assert shown.any() and np.array_equal(pixels[shown], result[shown])
    assert np.array_equal(
        result[~shown & (result[..., 3] > 0)], source[~shown & (result[..., 3] > 0)]
    )
    x, y = scene.RED_BOX[:2]
    assert facts["sent_red"] == [255, 0, 0, 255] and pixels[y + 5, x + 5, 3] == 0

    # Layers read the contract's way: a group as the grey map, exemplar opacity applied.
    assert facts["maps_sent"] == [True, True, False] and facts["group_map"], facts
    assert facts["patch_alpha"] == scene.PATCH_OPACITY
    assert facts["progress_events"] >= 1 and facts["previews"] >= 1

    # The result layer's recipe: run again gives the same pixels; kept in the .kra.
    assert facts["recipe_seed"] == scene.SEED and facts["run_again_identical"], facts
    assert facts["saved"] and facts["history_kept"] == [1, True, True], facts
    assert facts["settings_kept"] and facts["layer_recipe_kept"], facts
    assert facts["other_document_history"] == 0

    # 'Visible image' leaves the ticked exemplars out and the document alone.
    for key in ("without_exemplars", "differs_from_projection", "left_document_alone"):
        assert facts[f"visible_{key}"], (key, facts)
    assert facts["visible_result_on_top"] and facts["visible_unchanged"], facts

    # The selection limits the edit, or is ignored when asked.
    assert facts["selection_map_white_outside"] and facts["selection_ignored_map"], facts
    assert facts["auto_exemplar_cut"] == [255, 255], facts  # its pixels are never cut
    feathered_selection_rule(out)
    soft_auto_map_rule(out, facts)
    assert facts["feather_hidden"] == 0, facts  # hiding is the docker's choice, off here
    edited = dump(out, "selection_layer.bgra")[..., 3] > 0
    assert edited.any() and inside(edited, scene.SELECTION)
    changed = (dump(out, "selection_before.bgra") != dump(out, "selection_after.bgra")).any(2)
    assert inside(changed, scene.SELECTION)
    assert facts["patch_outside_selection"].startswith(
        "The exemplar 'Patch' covers nothing of the layer 'Source' inside the selection"
    )

    # Groups, vector and clone layers through their projection.
    assert facts["group_source_read"] and facts["clone_exemplar"], facts
    assert facts["vector_map"] == [0, 255, True] and facts["vector_exemplar_alpha"] == 255
    assert facts["group_edit"] == "finished" and facts["group_result_above_group"], facts

    # Refusals in Krita's words, the image untouched.
    assert facts["empty_exemplar"].startswith("The exemplar 'Empty' covers nothing of the")
    assert facts["bad_strength"] == "Strength: must be above 0, at most 1, not 0.0."
    assert facts["bad_seed"].startswith("Seed: must be 0 to 4294967295")
    assert facts["server_limit"] == "Steps: 300 is over this server's limit of 150."
    kind, message = facts["down"]
    port = env["PIXELS_DOWN_URL"]
    assert kind == "failed"
    assert message == (
        f'The PIXELS server is not running at {port}: start it with the command "pixels serve".'
    )
    assert facts["cancel"] == "cancelled" and facts["unchanged_after_cancel"], facts

    # Controls come from the schema, a trial parameter included.
    assert facts["trial_control"] == ["QSpinBox", 0, 9, 3] and facts["trial_on_its_page"]
    assert facts["controls_cover_schema"], facts
    assert facts["seed_control_holds_max"] == [schema.SEED_MAX, schema.SEED_MAX]


def feathered_selection_rule(out: Path) -> None:
    """schema.SELECTION_RULE under a feathered selection over a grey map: the map sent is
    1 - (1 - m) x s (to the nearest of 8 bits); the map shown is white where nothing is
    selected; the result layer is opaque exactly where a returned pixel differs from the
    source, transparent elsewhere, and the picture changes only where the shown map is
    below white."""
    s = dump(out, "feather_selection.grey", 1) / 255
    m = dump(out, "feather_unlimited.grey", 1) / 255
    sent = dump(out, "feather_sent.grey", 1).astype(float)
    rule = 255 * np.vectorize(schema.limit_map)(m, s)
    assert ((s > 0) & (s < 1) & (m < 1)).any() and np.abs(sent - rule).max() < 1
    shown = dump(out, "feather_shown.grey", 1)
    assert (shown[s == 0] == 255).all()
    layer = dump(out, "feather_layer.bgra")
    result = dump(out, "feather_result.rgba")[..., [2, 1, 0, 3]]
    differs = (result != dump(out, "feather_source.bgra")).any(axis=2)
    assert set(np.unique(layer[..., 3])) <= {0, 255}
    opaque = differs & (s > 0) & (result[..., 3] == 255)
    assert differs.any() and np.array_equal(layer[..., 3] == 255, opaque)
    assert (shown[layer[..., 3] == 255] < 255).all()


def soft_auto_map_rule(out: Path, facts: dict) -> None:
    """schema.SELECTION_RULE for an exemplar whose map the server makes from its alpha,
    under a feathered selection: its map is sent, the server's alpha map limited as every
    map (to the nearest of 8 bits, the server rounding its map once more), and its
    alpha is sent whole."""
    assert facts["soft_auto_edit"] == "finished" and facts["soft_auto_map_sent"], facts
    s = dump(out, "soft_auto_selection.grey", 1) / 255
    m = dump(out, "soft_auto_alpha_map.grey", 1) / 255
    sent = dump(out, "soft_auto_sent.grey", 1).astype(float)
    rule = 255 * np.vectorize(schema.limit_map)(m, s)
    assert ((s > 0) & (s < 1) & (m < 1)).any() and np.abs(sent - rule).max() <= 1
    assert facts["soft_auto_alpha_uncut"], facts


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOKEN = "s3cret"


@pytest.fixture
def own_server():
    """A server of the test's own, with a token: the app test loads another model into
    it, and stops it."""
    process = ServerProcess("--queue-size", "3", "--token", TOKEN)
    yield process
    process.stop()


def stop_when_asked(server: ServerProcess, shots: Path, done: threading.Event, later: list):
    """Kill the server (as a crash or a closed terminal does) when the docker's driver
    asks: on shots/stop-and-restart, then start another on its port (kept in `later`);
    on shots/stop, kill that one."""
    for request in ("stop-and-restart", "stop"):
        while not (shots / request).exists():
            if done.wait(0.2):
                return
        server.stop(signal.SIGKILL)
        if request == "stop-and-restart":
            server = ServerProcess("--queue-size", "3", "--token", TOKEN, port=server.port)
            later.append(server)


def test_docker_in_krita_app(hosts, plugin, own_server):
    server = own_server
    hosts.install_krita_plugin(plugin, "pixels_krita")
    hosts.install_krita_plugin(FIXTURE, "pixels_krita_drive")
    with (hosts.home / ".config/kritarc").open("a") as f:
        f.write(f"[pixels_krita]\nurl={server.url}\ntoken={TOKEN}\n")
    shots = hosts.work / "shots"
    shots.mkdir()
    done, later = threading.Event(), []
    watch = threading.Thread(target=stop_when_asked, args=(server, shots, done, later))
    watch.start()
    try:
        run = hosts.krita(env={"PIXELS_SHOT_DIR": hosts.inside(shots)}, timeout=400)
    finally:
        done.set()
        watch.join()
        for process in later:
            process.stop()
    assert run.returncode in (0, hostrun.KRITA_SEGFAULT), run.describe()
    line = next((x for x in run.stdout.splitlines() if x.startswith("PIXELS-APP ")), None)
    assert line is not None, run.describe()
    seen = json.loads(line.split(" ", 1)[1])
    why = f"{seen}\n{run.describe()}"
    assert "crash" not in seen and "timed_out" not in seen and seen["step"] == "done", why
    assert seen["docker"] and seen["visible"], why

    # Krita's default workspace: the docker's essential controls in view (the edit map
    # menu a scroll away), the source layer named, the empty edit map menu saying why.
    workspace = seen["workspace"]
    essential = {"status", "generate", "source", "exemplars"}
    assert essential <= set(workspace["shown"]), why
    assert workspace["map_hint"] == [
        "Select an exemplar in the list above to choose its map",
        False,
    ], why
    assert seen["source_named"] == "Active layer: 'Source'", why
    assert seen["status"].startswith("Connected to PIXELS") and "tiny on cpu" in seen["status"]
    assert {"tiny", "sdxl-random", "sdxl"} <= set(seen["models"]) and seen["token_hidden"], why
    assert_controls_match_schema(seen["pages"])

    # Random unticked with an empty field: a seed to use, shown.
    assert seen["seed_when_unticked"].isdigit(), why
    assert schema.SEED_MIN <= int(seen["seed_when_unticked"]) <= schema.SEED_MAX, why

    # Settings refused in the docker's words: the control's label, never a flag or a path.
    assert seen["seed_refused"] == (
        "Seed: must be 0 to 4294967295, or none for a random seed, not 4294967296."
    )
    assert seen["steps_refused"] == (
        "Steps: 300 is over this server's limit of 150. The image is unchanged."
    )

    # Two variations into the history (the last two seeds of the range), a preview.
    assert seen["history"] == [2**32 - 1, 2**32 - 2] and seen["history_rows"] == 2, why
    assert seen["message"].startswith("Done in") and seen["preview_shown"], why
    assert seen["map_choice"] == "Auto (from its alpha)" and seen["progress"] >= 2, why
    assert seen["map_message"].startswith("The edit map this edit would use"), why

    # Applied above the source with its opacity and blend mode; one undo removes it.
    edited = f"PIXELS edit (seed {2**32 - 1})"
    # The exemplar above it is hidden with it (on by default), so the edit shows at once;
    # one undo removes the layer and shows the exemplar again, the picture as it was.
    assert seen["layers"] == ["Background", "Source", edited, "Exemplar"], why
    assert seen["result_layer"] == [153, "multiply"], why
    assert seen["hide_exemplars"] == [schema.HIDE_EXEMPLARS[0], True], why
    assert seen["exemplar_shown_after_apply"] is False, why
    assert seen["pixels_changed_by_apply"] > 0, why
    assert seen["applied_message"] == (
        f"Added '{edited}' and hid the exemplar 'Exemplar' so that it shows. Undo (Ctrl+Z) "
        "removes it and shows them again."
    ), why
    assert seen["layers_after_undo"] == ["Background", "Source", "Exemplar"], why
    assert seen["pixels_changed_after_undo"] == 0, why
    assert seen["layers_after_redo"] == seen["layers"], why
    assert seen["exemplar_shown_after_redo"] is False, why

    # The result layer's own settings, run again on its source.
    assert seen["result_label"].startswith(f"'{edited}'"), why
    assert seen["history_after_again"] == [2**32 - 1, 2**32 - 1, 2**32 - 2], why
    assert seen["source_after_again"] == "Source", why
    assert seen["random_after_again"] is True, why  # the next Generate draws a new seed

    # Each document its own history; the model menu loads and reports.
    assert seen["second_history"] == 0 and seen["first_history_again"] == 3, why
    # Messages and progress belong to their image: a new one shows none of the first's.
    assert seen["second_message"] == "", why
    assert seen["second_message_after_edit"] == "", why
    assert not any("step" in bar for bar in seen["bars_on_second"]), why
    assert seen["first_message_after_edit"].startswith("Done in"), why
    # Settings remembered per document, and globally for a document that has none yet.
    assert seen["second_steps"] == 6 and seen["first_steps_again"] == 6, why
    assert seen["kritarc_settings"]["params"]["steps"] == 6, why
    assert seen["model_state"].startswith("tiny-flux: ready"), why
    # The controls follow the new model's family: its words, its defaults where the user
    # kept the old ones, the parameters it has no use for hidden; the server agrees.
    assert seen["flux_controls"] == {
        "negative_prompt_shown": False,
        "guidance": ["Guidance (distilled)", 3.5],
        "steps": 6,
    }, why
    assert seen["flux_map"].startswith("The edit map this edit would use"), why

    # No token for a server that needs one; the server stopped while idle: said so at
    # once, and connected again on its own once it was back; stopped mid-edit: said so,
    # the edit's live preview gone.
    assert seen["no_token"].startswith(f"The PIXELS server at {server.url} needs a token"), why
    assert "start it with the command" in seen["status_when_stopped"], why
    assert "start it with the command" in seen["status_after_stop"], why
    assert seen["message_after_stop"].endswith("The image is unchanged."), why
    assert seen["live_preview_kept"] is False, why
    assert "`" not in json.dumps(seen), why  # no literal backticks in what the docker says
    for name in ("window.png", "docker.png", "panel.png"):
        image = Image.open(shots / name).convert("RGB")
        assert len(image.getcolors(maxcolors=1 << 20)) > 50, f"{name} is nearly uniform"


def assert_controls_match_schema(pages: dict) -> None:
    """The docker's tabs hold one row per schema parameter, in the schema's groups, each
    with the schema's label, bounds, step, digits, default and choices."""
    titles = [title for _, title in schema.GROUPS]
    assert list(pages)[: len(titles)] == titles
    for group, title in schema.GROUPS:
        params = [p for p in schema.PARAMS if p.group == group]
        rows = pages[title]
        assert [r["label"] for r in rows] == [p.label for p in params]
        for param, row in zip(params, rows, strict=True):
            assert param.help in row["tooltip"] and param.bounds() in row["tooltip"]
            assert [w["kind"] for w in row["widgets"]] == WIDGETS[param.kind](param), param
            for widget, expected in zip(row["widgets"], held(param), strict=True):
                assert {k: widget[k] for k in expected} == expected, (param.name, widget)


WIDGETS = {
    schema.TEXT: lambda p: ["QPlainTextEdit" if p.max_length > 200 else "QLineEdit"],
    schema.NUMBER: lambda p: ["QDoubleSpinBox"],
    schema.INTEGER: lambda p: ["QSpinBox"],
    schema.BOOLEAN: lambda p: ["QCheckBox"],
    schema.CHOICE: lambda p: ["QComboBox"],
    schema.RANGE: lambda p: ["QDoubleSpinBox", "QDoubleSpinBox"],
    schema.SEED: lambda p: ["QLineEdit", "QCheckBox"],
}


def held(param) -> list[dict]:
    """What each of a parameter's widgets holds before the user touches it."""
    if param.kind in (schema.NUMBER, schema.RANGE):
        low = param.minimum + (10.0**-param.digits if param.above_minimum else 0)
        defaults = param.default if param.kind == schema.RANGE else [param.default]
        return [
            {"range": [pytest.approx(low), param.maximum, d, param.step], "decimals": param.digits}
            for d in defaults
        ]
    if param.kind == schema.INTEGER:
        return [{"range": [param.minimum, param.maximum, param.default, param.step]}]
    if param.kind == schema.BOOLEAN:
        return [{"checked": param.default}]
    if param.kind == schema.CHOICE:
        return [{"items": [list(c) for c in param.choices], "current": param.default}]
    if param.kind == schema.SEED:
        return [{"text": ""}, {"checked": True, "text": "Random"}]
    return [{"text": param.default}]
