"""The GIMP plug-in's GIMP-free modules, with the host Python, and its assembled folder."""

import ast
import importlib.util
import json
import os
import re
import subprocess
import sys

import pytest

from pixels_client import JobError
from pixels_contract import schema
from plugin_gimp import assemble

FOLDER = assemble.HERE / assemble.NAME


def load(name: str):
    """A plug-in module under a private name (its siblings' names are generic)."""
    spec = importlib.util.spec_from_file_location(f"pixels_gimp_{name}", FOLDER / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


canvas, controls, record, wording = (
    load(name) for name in ("canvas", "controls", "record", "wording")
)


def test_local_rect_puts_any_layer_on_the_source_canvas():
    source = canvas.Box(30, 20, 96, 80)
    assert canvas.local_rect(source, 30, 20) == (0, 0, 96, 80)
    assert canvas.local_rect(source, 10, 30) == (20, -10, 96, 80)  # left of and below
    assert canvas.local_rect(source, 0, 0) == (30, 20, 96, 80)  # a channel, the selection
    assert canvas.local_rect(source, -5, 200) == (35, -180, 96, 80)


def test_boxes_overlap_when_they_share_a_pixel():
    source = canvas.Box(30, 20, 96, 80)
    assert source.overlaps(canvas.Box(10, 30, 64, 48))
    assert source.overlaps(canvas.Box(125, 99, 5, 5))
    assert not source.overlaps(canvas.Box(126, 20, 5, 5))  # just right of it
    assert not source.overlaps(canvas.Box(400, 300, 64, 48))


def test_changed_rect_clips_the_region_to_the_canvas():
    box = canvas.Box(7, 9, 100, 50)
    assert canvas.changed_rect([10, 5, 40, 30], box) == (10, 5, 30, 25)
    assert canvas.changed_rect([-4, -4, 300, 300], box) == (0, 0, 100, 50)
    assert canvas.changed_rect(None, box) is None
    assert canvas.changed_rect([100, 0, 120, 10], box) is None


def test_the_lowest_selected_layer_is_the_source():
    stack = [5, 9, 2, 7, 1]  # top to bottom
    assert canvas.split_source([9, 7, 2], stack) == (7, [9, 2])
    assert canvas.split_source([1], stack) == (1, [])
    with pytest.raises(ValueError, match="select"):
        canvas.split_source([], stack)


def test_crop_takes_the_rows_of_a_rectangle():
    image = bytes(range(4 * 3))  # 4 x 3, one byte a pixel
    assert canvas.crop(image, 4, (1, 1, 2, 2), bpp=1) == bytes([5, 6, 9, 10])
    assert canvas.crop(image, 4, (0, 1, 4, 2), bpp=1) == bytes(range(4, 12))
    rgba = bytes(range(2 * 2 * 4))
    assert canvas.crop(rgba, 2, (1, 0, 1, 2)) == rgba[4:8] + rgba[12:16]


def test_edited_only_keeps_what_changed_and_clears_the_rest():
    old = bytes([10, 20, 30, 255]) * 6
    new = bytearray(old)
    new[4:8] = bytes([11, 20, 30, 255])  # red changed
    new[12:16] = bytes([10, 20, 30, 128])  # alpha alone changed: still a change
    new[20:24] = bytes([0, 0, 0, 255])
    out = canvas.edited_only(bytes(new), old)
    assert out[3::4] == bytes([0, 255, 0, 128, 0, 255])
    assert out[0::4] == bytes(new)[0::4]  # colours as sent back: only alpha is cleared
    assert canvas.only(canvas.edited_only(old, old)[3::4], 0)
    inside = bytes([255, 0, 255, 255, 0, 255])  # the selection above 0: changed there only
    assert canvas.edited_only(bytes(new), old, inside)[3::4] == bytes([0, 0, 0, 128, 0, 255])


def test_only_tells_a_blank_alpha_or_a_white_map():
    assert canvas.only(bytes(5), 0) and not canvas.only(bytes([0, 0, 1]), 0)
    assert canvas.only(b"\xff" * 4, 255) and not canvas.only(b"\xff\xfe", 255)


def test_every_schema_parameter_is_an_argument_with_its_bounds():
    """The plug-in's arguments are the schema's, by a rule per kind; nothing is copied."""
    by_name = {a.name: a for a in controls.ARGUMENTS}
    for p in schema.PARAMS:
        name = p.name.replace("_", "-")
        if p.kind == schema.RANGE:
            low, high = by_name[f"{name}-low"], by_name[f"{name}-high"]
            assert low.extra == (p.minimum, p.maximum, p.default[0]) and low.kind == "double"
            assert high.extra == (p.minimum, p.maximum, p.default[1])
        elif p.kind == schema.SEED:
            assert by_name[name].kind == "uint"
            assert by_name[name].extra[:2] == (schema.SEED_MIN, schema.SEED_MAX)
            assert by_name[f"random-{name}"].extra == (p.default is None,)
        elif p.kind == schema.CHOICE:
            assert by_name[name].extra == (p.choices, p.default)
        elif p.kind in (schema.NUMBER, schema.INTEGER):
            assert by_name[name].extra == (p.minimum, p.maximum, p.default)
        else:
            assert by_name[name].extra == (p.default,)
        assert by_name[name if p.kind != schema.RANGE else f"{name}-low"].group == p.group
    assert len(set(controls.NAMES)) == len(controls.NAMES)
    assert {a.group for a in controls.ARGUMENTS} == {g for g, _ in controls.GROUPS}


def test_argument_values_and_parameters_convert_both_ways():
    values = {a.name: a.extra[-1] for a in controls.ARGUMENTS if a.kind != "choice"}
    values.update({a.name: a.extra[1] for a in controls.ARGUMENTS if a.kind == "choice"})
    params = controls.params_of(values)
    assert schema.parse(params) == schema.parse({})  # the arguments' defaults are the schema's
    chosen = {**params, "seed": 2**32 - 1, "levels": (0.1, 0.9), "grow": -3}
    again = controls.params_of({**values, **controls.values_of(chosen)})
    assert again == chosen
    assert controls.values_of({"seed": None}) == {"random-seed": True}


def test_mnemonics_are_unique_and_avoid_the_buttons():
    labels = controls.with_mnemonics(["Prompt", "Negative prompt", "Steps", "Seed", "Random_x"])
    assert labels == ["_Prompt", "_Negative prompt", "S_teps", "S_eed", "R_andom__x"]
    assert controls.with_mnemonics(["Grow", "Gamma", "Of gaps"]) == ["_Grow", "G_amma", "O_f gaps"]
    letters = [controls.mnemonic(label) for label in labels]
    assert letters == ["p", "n", "t", "e", "a"] and not set(letters) & set(controls.RESERVED)
    every = controls.with_mnemonics([a.label for a in controls.ARGUMENTS])
    keys = [controls.mnemonic(m) for m in every if controls.mnemonic(m)]
    assert len(keys) == len(set(keys)) and list(controls.LABELS.values()) == every
    assert controls.mnemonic("Random__x") == "" and controls.mnemonic("Context") == ""


def test_the_dialog_follows_the_serving_family(monkeypatch):
    """What the dialog hides, rewords and moves for the family of the serving model."""
    assert controls.for_family(None) == controls.for_family("no-such") == ((), ())
    assert controls.for_family("sd") == ((), ())
    hidden, changed = controls.for_family("flux-dev")
    assert hidden == ("negative-prompt", "guidance-rescale")
    assert [a.name for a in changed] == ["guidance", "steps"]
    guidance, steps = changed
    words = dict(schema.FAMILIES["flux-dev"].changes)["guidance"]
    assert (guidance.default, guidance.label, guidance.help) == tuple(words.values())
    assert guidance.extra == (0.0, 50.0, 3.5) and guidance.step == 0.5
    assert (steps.default, steps.help) == (28, schema.BY_NAME["steps"].help)
    assert controls.relabelled(guidance) == "_Guidance (distilled)"
    hidden, changed = controls.for_family("flux-schnell")
    assert hidden == ("negative-prompt", "guidance", "guidance-rescale")
    assert [(a.name, a.default) for a in changed] == [("steps", 4)]
    trial = schema.Family("trial", "Trial", takes_no=("seed", "levels"))
    monkeypatch.setitem(schema.FAMILIES, "trial", trial)
    hidden, _ = controls.for_family("trial")  # every argument of an unused parameter
    assert hidden == ("guidance-rescale", "seed", "random-seed", "levels-low", "levels-high")
    for name in schema.FAMILIES:  # a family's label keeps the dialog's mnemonics unique
        for argument in controls.for_family(name)[1]:
            others = [v for k, v in controls.LABELS.items() if k != argument.name]
            taken = {controls.mnemonic(label) for label in others} | set(controls.RESERVED)
            assert controls.mnemonic(controls.relabelled(argument)) not in taken


def test_the_dialog_moves_only_untouched_values_to_the_familys_defaults():
    defaults = {a.name: a.default for a in controls.ARGUMENTS if a.kind != "drawable"}
    chosen = {**defaults, "negative-prompt": "blurry", "steps": 12}
    # hidden: back to the only value the server takes; guidance still at any model's 5
    assert controls.settled("flux-dev", chosen, False) == {"negative-prompt": "", "guidance": 3.5}
    # an earlier edit's settings, run again: kept, but for what the family cannot take
    assert controls.settled("flux-dev", chosen, True) == {"negative-prompt": ""}
    schnell = {**defaults, "guidance": 3.5}
    assert controls.settled("flux-schnell", schnell, False) == {"guidance": 5.0, "steps": 4}
    assert controls.settled(None, chosen, False) == controls.settled("sd", chosen, False) == {}
    for name in schema.FAMILIES:  # what the dialog then sends, the server takes
        settled = {**chosen, **controls.settled(name, chosen, False)}
        schema.parse(controls.params_of(settled), name)


def test_a_model_picked_in_the_dialog_refits_the_values():
    """From tiny's family to FLUX.1 dev's and back: untouched values follow each family's
    defaults, the negative prompt FLUX cannot take goes back to empty (never sent), a
    value the artist set stays."""
    defaults = {a.name: a.default for a in controls.ARGUMENTS if a.kind != "drawable"}
    sd = {**defaults, "negative-prompt": "blurry", "steps": 12}
    to_flux = controls.settled("flux-dev", sd, False, "sd")
    assert to_flux == {"negative-prompt": "", "guidance": 3.5}
    flux = {**sd, **to_flux}
    assert controls.settled("sd", flux, False, "flux-dev") == {"guidance": 5.0}
    untouched = {**defaults, "steps": 28, "guidance": 3.5}  # FLUX.1 dev's
    assert controls.settled("sd", untouched, False, "flux-dev") == {"guidance": 5.0, "steps": 30}
    assert controls.settled("flux-schnell", untouched, False, "flux-dev") == {
        "guidance": 5.0,
        "steps": 4,
    }


def test_the_address_is_trimmed_and_a_bad_one_named():
    assert wording.checked_address(" 127.0.0.1:7871 ") == "127.0.0.1:7871"
    assert wording.checked_address("ws://[::1]") == "ws://[::1]"
    for typed, words in [
        ("ws://127.0.0.1:78710", "Address: the port must be a number from 1 to 65535, not '78710'"),
        ("127.0.0.1:port", "not 'port'"),
        ("ws://h:", "not ''"),
        ("ws://h:0", "not '0'"),
        ("  ", "Address: '' is not a server address; give one such as ws://127.0.0.1:7860"),
        ("ftp://h:21", "is not a server address"),
        ("ws://[::1", "is not a server address"),
    ]:
        with pytest.raises(wording.Refused, match=re.escape(words)):
            wording.checked_address(typed)


def test_messages_have_no_markdown():
    """GIMP shows messages and tooltips as plain text: no backticks."""
    messages = [wording.not_running("h:1"), wording.versions("h:1", "x"), wording.lost("h:1")]
    helps = [a.help for a in controls.ARGUMENTS] + [a.label for a in controls.ARGUMENTS]
    assert not [text for text in messages + helps if "`" in text]
    hide = controls.BY_NAME["hide-exemplars"]
    assert (hide.label, hide.help, hide.default) == (*schema.HIDE_EXEMPLARS, True)


def test_errors_name_the_control_not_the_flag():
    try:
        schema.parse({"grow": 900})
    except schema.Invalid as e:
        assert wording.invalid(e) == "Grow: must be -256 to 256 px, not 900"
    frames = ["Source 'photo'", "Exemplar 'lake'"]
    server = JobError("invalid_field", "params.steps: 200 is over the limit.", "params.steps")
    assert wording.refused(str(server), server.field, frames) == "Steps: 200 is over the limit."
    text = "frames[1]: the exemplar 1 is 9000x9000, over this server's limit."
    assert wording.refused(text, "frames[1]", frames).startswith("Exemplar 'lake': the exemplar")
    assert wording.refused("the queue is full.", None, frames) == "The queue is full."
    down = wording.not_running("ws://127.0.0.1:9")
    assert "not running at 127.0.0.1:9" in down and "pixels serve" in down
    for message in (down, wording.lost("localhost:7860"), wording.token("h:1", True)):
        assert "--" not in message and "rrno" not in message
    assert wording.address("127.0.0.1:7860") == "127.0.0.1:7860"


def test_record_round_trips_without_the_token():
    params = {"prompt": "a lake", "seed": 4_000_000_000, "levels": (0.0, 1.0)}
    inputs = {"source": "lowest", "server": "ws://h:1", "token": "secret"}
    tattoos = {"source": 3, "exemplars": [5, 6], "map": None}
    data = record.encode(params, inputs, "tiny", [0, 0, 8, 8], tattoos)
    assert b"secret" not in data
    decoded = record.decode(data)
    assert decoded["params"] == {**params, "levels": [0.0, 1.0]}
    assert decoded["inputs"] == {"source": "lowest", "server": "ws://h:1"}
    assert decoded["model"] == "tiny" and decoded["region"] == [0, 0, 8, 8]
    assert decoded["layers"] == tattoos
    assert record.decode(list(data)) == decoded  # GIMP hands parasite data as a list
    with pytest.raises(ValueError):
        record.decode(json.dumps({"version": 1}).encode())


def test_plugin_reads_no_parameter_by_name():
    """pixels_gimp.py and its GIMP modules (they need GIMP, so they are read, not run)
    name no edit parameter: they loop over controls, which loops over the schema. (The
    seed is the exception: the server's result reports the one it used.)"""
    gimp_modules = ("pixels_gimp", "answers", "scene", "layers", "remote", "dialog")
    names = {p.name for p in schema.PARAMS} | {p.name.replace("_", "-") for p in schema.PARAMS}
    names.discard("seed")
    for module in gimp_modules:
        tree = ast.parse((FOLDER / f"{module}.py").read_text())
        strings = {
            node.value
            for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
        }
        assert not strings & names, (module, strings & names)


def test_assembled_folder_runs_on_the_standard_library_alone(tmp_path):
    folder = assemble.assemble(tmp_path)
    assert folder.name == "pixels_gimp" and os.access(folder / "pixels_gimp.py", os.X_OK)
    assert (folder / "pixels_client/_vendor/websockets/sync/client.py").is_file()
    assert (
        not list(folder.rglob("__pycache__")) and not (folder / "pixels_client/vendor.py").exists()
    )
    # -S -I: no site-packages, so websockets can only come from the vendored copy
    code = (
        "import canvas, controls, record, wording, pixels_client.transport as t; "
        "print(t.connect.__module__)"
    )
    out = subprocess.run(
        [sys.executable, "-S", "-I", "-c", f"import sys; sys.path.insert(0, '.'); {code}"],
        cwd=folder,
        capture_output=True,
        text=True,
    )
    assert out.stdout.strip() == "pixels_client._vendor.websockets.sync.client", out.stderr
