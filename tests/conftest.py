"""Shared fixtures: the built-in tiny models, built fresh into a temporary cache once per
run, so every run also proves the build -> save -> from_pretrained path. It runs on the
CPU unless PIXELS_TEST_DEVICE names another device (the GPU check sets cuda). `server`
is a real `pixels serve` on loopback, shared by the tests that need no special limits.
`bundles` is the dist/ folder of the plug-in bundles."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from serving import ServerProcess

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def bundles(tmp_path_factory) -> Path:
    """The plug-in bundles as artists download them, built once by the packaging script:
    the host tests install these, not the source tree."""
    dist = tmp_path_factory.mktemp("dist")
    script = ROOT / "packaging" / "build_plugins.py"
    done = subprocess.run([sys.executable, script, "--dist", dist], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return dist


@pytest.fixture(scope="session")
def model_cache(tmp_path_factory):
    cache = tmp_path_factory.mktemp("pixels-cache")
    old = os.environ.get("PIXELS_CACHE")
    os.environ["PIXELS_CACHE"] = str(cache)
    yield cache
    if old is None:
        os.environ.pop("PIXELS_CACHE", None)
    else:
        os.environ["PIXELS_CACHE"] = old


@pytest.fixture(scope="session")
def built_model(model_cache):
    """A model built here by name ("tiny-flux", ...), loaded once per run."""
    from pixels_engine import load_model

    loaded = {}

    def load(name: str):
        if name not in loaded:
            loaded[name] = load_model(name, device=os.environ.get("PIXELS_TEST_DEVICE", "cpu"))
        return loaded[name]

    return load


@pytest.fixture(scope="session")
def tiny(built_model):
    return built_model("tiny")


@pytest.fixture(scope="session")
def editor(tiny):
    from pixels_engine import Editor

    return Editor(tiny)


@pytest.fixture(scope="session")
def server():
    process = ServerProcess("--queue-size", "3")
    yield process
    process.stop()
