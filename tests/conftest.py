"""Shared fixtures: the built-in tiny model, built fresh into a temporary cache once per
run, so every run also proves the build -> save -> from_pretrained path. It runs on the
CPU unless PIXELS_TEST_DEVICE names another device (the GPU check sets cuda)."""

import os

import pytest

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
