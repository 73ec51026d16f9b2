"""The Krita plug-in's Krita-free modules on the host's Python: the history and its
archive, errors in Krita's words, the assembled plug-in, what it may import, and that no
parameter is written down in it (they all come from the schema)."""

import ast
import zipfile

import pytest

from pixels_client import AuthError, JobError, ProtocolViolation, ServerUnavailable
from pixels_client import VersionMismatch as Mismatch
from pixels_contract import schema
from plugin_krita import assemble
from plugin_krita.pixels_krita import errors, messages
from plugin_krita.pixels_krita.history import Entry, History, Recipe
from plugin_krita.pixels_krita.state import DocState, Hidden, Note, fresh_seed

PACKAGE = assemble.HERE / assemble.NAME
RECIPE = Recipe({"prompt": "a lake", "steps": 12, "levels": [0.1, 0.9], "seed": None}, "{a}")


def entry(seed: int, size: int = 10) -> Entry:
    return Entry(RECIPE.with_seed(seed), (1, 2, 3, 4), bytes([seed % 256]) * size)


def test_recipe_round_trips_and_keeps_its_seed():
    recipe = Recipe({"seed": None, "invert": True}, None, (("{x}", "auto"), ("{y}", "mask")))
    fixed = recipe.with_seed(2**32 - 1)
    assert Recipe.from_json(fixed.to_json()) == fixed and fixed.params["seed"] == 2**32 - 1
    assert recipe.params["seed"] is None and fixed.exemplars == recipe.exemplars


def test_summary_names_changed_settings_by_their_labels():
    assert RECIPE.summary() == 'Prompt "a lake", Steps 12, Levels 0.1 to 0.9'
    assert Recipe({"invert": True, "threshold": "log"}, None).summary() == (
        "Release curve Log (released early), Invert maps"
    )
    assert Recipe({}, None).summary() == "default settings"


def test_history_is_newest_first_bounded_by_count_and_bytes():
    history = History(limit=3, budget=25)
    for seed in range(5):
        history.add(entry(seed))
    assert [e.seed for e in history.entries] == [4, 3]  # a third would weigh 30 bytes
    history.add(entry(9, size=100))
    assert [e.seed for e in history.entries] == [9]  # the newest stays, however large
    assert history.discard(0).seed == 9 and len(history) == 0


def test_history_archive_round_trips_and_survives_damage():
    history = History()
    for seed in (7, 2**32 - 1):
        history.add(entry(seed))
    back = History.from_bytes(history.to_bytes())
    assert [(e.recipe, e.box, e.bgra) for e in back.entries] == [
        (e.recipe, e.box, e.bgra) for e in history.entries
    ]
    assert len(History.from_bytes(b"not a zip")) == 0
    assert len(History.from_bytes(history.to_bytes()[:-30])) == 0


@pytest.mark.parametrize(
    "error, words",
    [
        (
            ServerUnavailable("no PIXELS server answers at ws://127.0.0.1:9/v1/edit ([Errno 111])"),
            'The PIXELS server is not running at 127.0.0.1:9: start it with the command "pixels '
            'serve".',
        ),
        (
            ServerUnavailable("the connection to the server was lost (1006)"),
            "The connection to the PIXELS server at 127.0.0.1:9 was lost: start it with the "
            'command "pixels serve"',
        ),
        (AuthError("refused: bad token"), "The PIXELS server at 127.0.0.1:9 refused the token"),
        (Mismatch("protocol 1"), "The server and this plug-in speak different versions"),
        (ProtocolViolation("x"), "The server sent something this plug-in does not understand"),
        (
            JobError(
                "invalid_field", "params.grow: must be -256 to 256 px, not 900.", "params.grow"
            ),
            "Grow: must be -256 to 256 px, not 900.",
        ),
        (
            JobError("invalid_field", "frames[2]: the map of exemplar 1 is 8x8.", "frames[2]"),
            "The edit map of 'Lake': the map of exemplar 1 is 8x8.",
        ),
        (JobError("queue_full", "full."), "The server's queue is full"),
        (schema.Invalid("strength", "must be above 0, at most 1, not 0"), "Strength: must be"),
        (errors.DocumentError("Tick at least one exemplar layer."), "Tick at least one"),
    ],
)
def test_errors_are_in_kritas_words(error, words):
    frames = ("the layer 'Source'", "the exemplar 'Lake'", "the edit map of 'Lake'")
    text = errors.describe(error, "127.0.0.1:9", frames)
    assert text.startswith(words)
    for foreign in ("--", "params.", "frames[", "Errno", "ws://", "`"):
        assert foreign not in text, text


def test_a_missing_token_is_told_apart_from_a_wrong_one():
    refused = AuthError("the server at ws://127.0.0.1:9/v1/edit refused the connection")
    assert errors.describe(refused, "127.0.0.1:9", token=False).startswith(
        "The PIXELS server at 127.0.0.1:9 needs a token: enter the one it was started with"
    )
    assert errors.describe(refused, "127.0.0.1:9", token=True).startswith(
        "The PIXELS server at 127.0.0.1:9 refused the token: enter the one it was started with"
    )


def test_hidden_exemplars_follow_their_result_layer_through_undo_and_redo():
    doc = DocState(None, History(), {"ticked": ["{e}"]})
    doc.hidden["{r}"] = Hidden(["{e}", "{f}"])
    assert doc.follow_results({"{r}"}) == ([], [])  # applied: they stay hidden
    assert doc.follow_results(set()) == (["{e}", "{f}"], [])  # undone: shown again
    assert doc.follow_results(set()) == ([], [])  # once
    assert doc.follow_results({"{r}"}) == ([], ["{e}", "{f}"])  # redone: hidden again
    assert doc.note == Note() and doc.ticked == {"{e}"}


def test_a_fresh_seed_is_in_the_contracts_range():
    seeds = {fresh_seed() for _ in range(50)}
    assert len(seeds) > 1 and all(schema.SEED_MIN <= s <= schema.SEED_MAX for s in seeds)


def test_messages_name_the_layers():
    assert messages.applied("PIXELS edit (seed 5)", []) == (
        "Added 'PIXELS edit (seed 5)'. Undo (Ctrl+Z) removes it."
    )
    assert messages.applied("R", ["Lake", "Rug"]).startswith(
        "Added 'R' and hid the exemplars 'Lake', 'Rug' so that it shows."
    )
    assert messages.source("Source") == "Active layer: 'Source'"
    assert messages.source(None) == "Active layer (none selected)"
    assert messages.map_hint(0) != messages.map_hint(3)


def test_assembled_plugin_is_self_contained(tmp_path, bundles):
    folder = assemble.assemble(tmp_path / "pykrita")
    package = folder / "pixels_krita"
    assert (folder / "pixels_krita.desktop").read_text().count("X-KDE-Library=pixels_krita") == 1
    assert (package / "pixels_client" / "client.py").is_file()
    assert (package / "pixels_contract" / "schema.py").is_file()
    assert (package / "pixels_client" / "_vendor" / "websockets" / "sync" / "client.py").is_file()
    assert not (package / "pixels_client" / "vendor.py").exists()
    assert not list(folder.rglob("*.so")) and not list(folder.rglob("__pycache__"))
    names = zipfile.ZipFile(bundles / "pixels-krita.zip").namelist()  # as Krita imports it
    assert "pixels_krita.desktop" in names and "pixels_krita/__init__.py" in names
    assert "pixels_krita/pixels_client/_vendor/websockets/__init__.py" in names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_no_parameter_is_written_down_in_the_plugin(path):
    """Parameters, their bounds and choices come from the schema; only the seed, which
    variations and the history handle, is named."""
    names = {p.name for p in schema.PARAMS} | {v for p in schema.PARAMS for v in p.values}
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            assert node.value == "seed" or node.value not in names, (path.name, node.value)
