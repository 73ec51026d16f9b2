"""The GIMP plug-in's GIMP-free modules, with the host Python, and its assembled folder."""

import ast
import importlib.util
import json
import os
import subprocess
import sys

import pytest

from pixels_client import protocol
from plugin_gimp import assemble

FOLDER = assemble.HERE / assemble.NAME


def load(name: str):
    """A plug-in module under a private name (its siblings' names are generic)."""
    spec = importlib.util.spec_from_file_location(f"pixels_gimp_{name}", FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


canvas, record, settings = load("canvas"), load("record"), load("settings")


def test_local_rect_puts_any_layer_on_the_source_canvas():
    source = canvas.Box(30, 20, 96, 80)
    assert canvas.local_rect(source, 30, 20) == (0, 0, 96, 80)
    assert canvas.local_rect(source, 10, 30) == (20, -10, 96, 80)  # left of and below
    assert canvas.local_rect(source, 0, 0) == (30, 20, 96, 80)  # a channel, the selection
    assert canvas.local_rect(source, -5, 200) == (35, -180, 96, 80)


def test_changed_rect_clips_the_region_to_the_canvas():
    box = canvas.Box(7, 9, 100, 50)
    assert canvas.changed_rect([10, 5, 40, 30], box) == (10, 5, 30, 25)
    assert canvas.changed_rect([-4, -4, 300, 300], box) == (0, 0, 100, 50)
    assert canvas.changed_rect(None, box) is None
    assert canvas.changed_rect([100, 0, 120, 10], box) is None


def test_changed_runs_find_the_pixels_to_write():
    width = 5
    old = bytes(range(width * 3 * 4))
    new = bytearray(old)
    for x, y in ((1, 0), (2, 0), (4, 0), (0, 2)):
        new[(y * width + x) * 4 + 3] ^= 0xFF  # alpha alone differs: still a change
    new = bytes(new)
    assert canvas.changed_runs(new, old, width, (0, 0, 5, 3)) == [(1, 0, 2), (4, 0, 1), (0, 2, 1)]
    assert canvas.changed_runs(new, old, width, (2, 0, 2, 2)) == [(2, 0, 1)]
    assert canvas.changed_runs(old, old, width, (0, 0, 5, 3)) == []


def test_maps_are_inverted_in_8_and_16_bits():
    assert canvas.edit_map(bytes([0, 255, 1])) == bytes([255, 0, 254])
    native = (513).to_bytes(2, sys.byteorder) + (65535).to_bytes(2, sys.byteorder)
    big = canvas.big_endian_u16(native)
    assert big == (513).to_bytes(2, "big") + (65535).to_bytes(2, "big")
    assert int.from_bytes(canvas.edit_map(big)[:2], "big") == 65535 - 513


def test_the_lowest_selected_layer_is_the_source():
    stack = [5, 9, 2, 7, 1]  # top to bottom
    assert canvas.split_source([9, 7, 2], stack) == (7, [9, 2])
    assert canvas.split_source([1], stack) == (1, [])
    with pytest.raises(ValueError, match="select"):
        canvas.split_source([], stack)


def test_edit_params_are_protocol_params():
    values = {
        "prompt": "a lake",
        "negative-prompt": "",
        "strength": 0.5,
        "steps": 12,
        "seed": -1,
        "guidance": 5.0,
        "threshold": "cubic",
        "mode": "chain",
        "transition": 8.0,
        "grow": 2,
        "feather": 1.5,
        "invert": True,
    }
    params = settings.edit_params(values)
    assert set(params) <= set(protocol.PARAMS) and params["seed"] is None
    assert params["negative_prompt"] == "" and params["threshold"] == "cubic"
    assert settings.edit_params({**values, "seed": 42})["seed"] == 42
    assert settings.layer_name(42) == "PIXELS edit (seed 42)"


def test_record_round_trips_without_the_token():
    values = {"prompt": "a lake", "seed": 1234, "token": "secret", "server": "ws://h:1"}
    data = record.encode(values, {"prompt": "a lake", "seed": 1234}, "tiny", [0, 0, 8, 8])
    assert b"secret" not in data
    decoded = record.decode(data)
    assert decoded["settings"] == {"prompt": "a lake", "seed": 1234, "server": "ws://h:1"}
    assert decoded["params"] == {"prompt": "a lake", "seed": 1234}
    assert decoded["model"] == "tiny" and decoded["region"] == [0, 0, 8, 8]
    assert record.decode(list(data)) == decoded  # GIMP hands parasite data as a list
    with pytest.raises(ValueError):
        record.decode(json.dumps({"version": 99}).encode())


def test_plugin_arguments_match_its_settings():
    """Every setting the plug-in reads is an argument it declares, and every parameter
    it sends is one of them (pixels_gimp.py needs GIMP, so it is read, not run)."""
    tree = ast.parse((FOLDER / "pixels_gimp.py").read_text())
    declared = {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "attr", "").endswith("_argument")
        and isinstance(node.args[0], ast.Constant)
    }
    names = next(
        node.value
        for node in ast.walk(tree)
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "SETTINGS"
    )
    read = {element.value for element in names.elts}
    assert read | {"map-drawable"} == declared
    assert set(settings.PARAMS) | {"seed"} <= read


def test_assembled_folder_runs_on_the_standard_library_alone(tmp_path):
    folder = assemble.assemble(tmp_path)
    assert folder.name == "pixels_gimp" and os.access(folder / "pixels_gimp.py", os.X_OK)
    assert (folder / "pixels_client/_vendor/websockets/sync/client.py").is_file()
    assert (
        not list(folder.rglob("__pycache__")) and not (folder / "pixels_client/vendor.py").exists()
    )
    # -S -I: no site-packages, so websockets can only come from the vendored copy
    code = (
        "import canvas, record, settings, pixels_client.transport as t; print(t.connect.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", f"import sys; sys.path.insert(0, '.'); {code}"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "pixels_client._vendor.websockets.sync.client", out.stderr
