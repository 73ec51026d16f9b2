"""The Krita plug-in's pure logic on the host's Python (no Krita, no Qt): settings, the
history, the assembled plug-in and what the plug-in may import."""

import ast
import sys
import zipfile

import pytest

from pixels_client import protocol
from pixels_engine.thresholds import CURVES
from plugin_krita import assemble
from plugin_krita.pixels_krita.history import Entry, History
from plugin_krita.pixels_krita.params import MAX_SEED, THRESHOLDS, Params

PACKAGE = assemble.HERE / assemble.NAME
HOST_MODULES = {"krita", "PyQt5", "PyQt6"}  # besides the standard library


def test_params_are_the_protocols():
    wire = Params().wire()
    assert wire == {name: protocol.PARAMS[name] for name in wire}
    assert set(THRESHOLDS) == set(CURVES)
    assert MAX_SEED == 2**63 - 1


@pytest.mark.parametrize(
    "bad",
    [
        {"strength": 0.0},
        {"strength": 1.5},
        {"steps": 0},
        {"seed": -1},
        {"seed": 2**63},
        {"threshold": "cosine"},
        {"transition": -1.0},
    ],
)
def test_params_refuse_what_the_server_would(bad):
    with pytest.raises(ValueError):
        Params(**bad)


def test_params_keep_the_seed_of_a_result():
    drawn = Params(prompt="a lake", steps=12).with_seed(2**40)
    assert drawn.wire()["seed"] == 2**40 and drawn.steps == 12
    assert drawn.summary() == 'strength 0.6, 12 steps, linear, "a lake"'


def test_history_is_newest_first_and_bounded():
    history = History(limit=3)
    for seed in range(5):
        history.add(entry(seed))
    assert [e.seed for e in history.entries] == [4, 3, 2]
    assert history.discard(1).seed == 3
    assert [history[i].seed for i in range(len(history))] == [4, 2]


def test_assembled_plugin_is_self_contained(tmp_path, bundles):
    folder = assemble.assemble(tmp_path / "pykrita")
    package = folder / "pixels_krita"
    assert (folder / "pixels_krita.desktop").read_text().count("X-KDE-Library=pixels_krita") == 1
    assert (package / "pixels_client" / "client.py").is_file()
    assert (package / "pixels_client" / "_vendor" / "websockets" / "sync" / "client.py").is_file()
    assert not (package / "pixels_client" / "vendor.py").exists()
    assert not list(folder.rglob("*.so")) and not list(folder.rglob("__pycache__"))
    names = zipfile.ZipFile(bundles / "pixels-krita.zip").namelist()  # as Krita imports it
    assert "pixels_krita.desktop" in names and "pixels_krita/__init__.py" in names
    assert "pixels_krita/pixels_client/_vendor/websockets/__init__.py" in names


@pytest.mark.parametrize("path", sorted(PACKAGE.glob("*.py")), ids=lambda p: p.name)
def test_plugin_imports_only_krita_qt_stdlib_and_its_own(path):
    """pixels_engine and an installed pixels_client are not there inside Krita."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            roots = [alias.name.split(".")[0] for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots = [node.module.split(".")[0]]
        else:
            continue
        for root in roots:
            assert root in HOST_MODULES or root in sys.stdlib_module_names, root


def entry(seed):
    return Entry(b"", seed, Params(seed=seed), None, None)
