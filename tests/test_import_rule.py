"""The one import rule, checked on every module of every part: dependencies point one
way. The contract is the standard library alone (the plug-ins vendor it); the client adds
the contract and websockets (vendored into the plug-ins); the engine imports nothing
above it; the server adds the engine; the plug-ins run inside GIMP's and Krita's own
Python, so they take the client, the contract and their host's API, never torch, numpy
or the engine. Imports inside functions count too."""

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORE = {"pixels_contract", "pixels_client", "pixels_engine", "server", "pixels_cli"}
OURS = CORE | {"pixels_gimp", "pixels_krita"}
ANY = None  # any installed package outside the project

# part -> (its folder, the project's parts it may import, other packages it may import)
RULE = {
    "pixels_contract": ("pixels_contract", set(), set()),
    "pixels_client": ("pixels_client", {"pixels_contract"}, {"websockets"}),
    "pixels_engine": ("pixels_engine", {"pixels_contract"}, ANY),
    "server": ("server", {"pixels_contract", "pixels_engine"}, ANY),
    "pixels_cli": ("pixels_cli", CORE, ANY),
    "plugin_gimp": ("plugin_gimp/pixels_gimp", {"pixels_contract", "pixels_client"}, {"gi"}),
    "plugin_krita": (
        "plugin_krita/pixels_krita",
        {"pixels_contract", "pixels_client"},
        {"krita", "PyQt5", "PyQt6"},
    ),
}


def imported(path: Path) -> set[str]:
    """The top-level names a module imports, absolute imports only (relative ones stay
    inside its own package)."""
    roots = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            roots |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def modules():
    for part, (folder, _, _) in RULE.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            yield pytest.param(part, path, id=str(path.relative_to(ROOT)))


@pytest.mark.parametrize(("part", "path"), modules())
def test_every_module_imports_only_what_its_part_may(part, path):
    _, parts, others = RULE[part]
    siblings = {p.stem for p in path.parent.glob("*.py")} | {path.parent.name}
    for root in imported(path) - siblings:
        if root in OURS:
            assert root in parts, f"{part} may not import {root}"
        elif root not in sys.stdlib_module_names:
            assert others is ANY or root in others, f"{part} may not import {root}"


def test_the_rule_covers_every_part_of_the_project():
    packages = {p.parent.name for p in ROOT.glob("*/__init__.py")} - {"tests"}
    assert packages <= set(RULE), packages - set(RULE)
    assert {p.name for p in ROOT.glob("plugin_*")} <= set(RULE)
