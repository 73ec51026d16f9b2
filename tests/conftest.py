"""Shared fixtures: the built-in tiny model, built fresh into a temporary cache once per
run, so every run also proves the build -> save -> from_pretrained path. It runs on the
CPU unless PIXELS_TEST_DEVICE names another device (the GPU check sets cuda). `server`
is a real `pixels serve` on loopback, shared by the tests that need no special limits."""

import os

import pytest
from serving import ServerProcess

os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


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
def tiny(model_cache):
    from pixels_engine import load_model

    return load_model("tiny", device=os.environ.get("PIXELS_TEST_DEVICE", "cpu"))


@pytest.fixture(scope="session")
def editor(tiny):
    from pixels_engine import Editor

    return Editor(tiny)


@pytest.fixture(scope="session")
def server():
    process = ServerProcess("--queue-size", "3")
    yield process
    process.stop()
