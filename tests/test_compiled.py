"""The compiled path on the CPU (inductor): the same edit as eager within float
tolerance, every invariant of the loop kept, compiles counted and bounded by the working
sizes, and the compiled artifacts kept on disk for the next process. (Its speed is a GPU
matter: benchmarks/gpu_check.sh, docs/performance.md.)"""

import json
import os
import subprocess
import sys
import time
import urllib.request

import numpy as np
import pytest
import torch
from serving import ServerProcess, read_png, scene_request

from pixels_cli import samples
from pixels_client import Client
from pixels_engine import Editor, EditSettings, load_model
from pixels_engine.compiled import compile_model, warm_up
from pixels_engine.editor import edit_map

SETTINGS = EditSettings(steps=6, strength=0.6, seed=7)

RUN = """
import json, logging, sys
from pixels_cli import samples
from pixels_engine import Editor, EditSettings, load_model
from pixels_engine.compiled import compile_model
model, state = compile_model(load_model("tiny", device="cpu"), sys.argv[1])
source, exemplars = samples.scene(128)
Editor(model).edit(source, exemplars, EditSettings(steps=4, strength=0.5, seed=1))
print(json.dumps({"loaded": state.loaded, "compiles": state.compiles, "cache": str(state.cache)}))
"""


def held_masks(editor, source, exemplars):
    masks = []
    editor.edit(source, exemplars, SETTINGS, on_step=lambda s: masks.append(s.held.clone()))
    return masks


def test_blocks_give_the_eager_edit_and_keep_the_invariants(model_cache):
    eager = load_model("tiny", device="cpu")
    source, exemplars = samples.scene(256)
    expected = Editor(eager).edit(source, exemplars, SETTINGS)
    compiled, state = compile_model(load_model("tiny", device="cpu"), "blocks")
    editor = Editor(compiled)
    first = editor.edit(source, exemplars, SETTINGS)
    assert np.abs(first.image - expected.image).max() < 1e-3
    white = edit_map(source, exemplars, SETTINGS) >= 1.0  # kept: the source's own bytes
    assert white.sum() > 0 and np.array_equal(first.image[white], source[white])
    compiles = state.compiles
    assert compiles > 0
    editor.edit(source, exemplars, SETTINGS)  # the same working size: nothing new
    assert state.compiles == compiles
    eager_masks = held_masks(Editor(eager), source, exemplars)
    compiled_masks = held_masks(editor, source, exemplars)
    assert all(torch.equal(a, b) for a, b in zip(eager_masks, compiled_masks, strict=True))
    assert state.cache.is_file()


def test_a_whole_compile_warms_up_a_working_size_and_serves_it_without_recompiling(
    model_cache,
):
    model = load_model("tiny", device="cpu")
    compiled, state = compile_model(model, "full")
    editor = Editor(compiled)
    warm_up(editor, state, shapes=[(512, 512)])
    after_warm_up = state.compiles
    assert state.shapes == [(512, 512)] and after_warm_up > 0
    source, exemplars = samples.scene(512)  # the whole canvas: the 512 x 512 bucket
    result = editor.edit(source, exemplars, SETTINGS)
    assert result.working_size == (512, 512) and state.compiles == after_warm_up
    expected = Editor(model).edit(source, exemplars, SETTINGS)
    assert np.abs(result.image - expected.image).max() < 1e-3


@pytest.mark.parametrize("mode", ["blocks"])
def test_the_compiled_artifacts_are_reused_by_the_next_process(mode, model_cache):
    env = {**os.environ, "PIXELS_CACHE": str(model_cache)}

    def run() -> dict:
        done = subprocess.run(
            [sys.executable, "-c", RUN, mode], capture_output=True, text=True, env=env
        )
        assert done.returncode == 0, done.stderr[-2000:]
        return json.loads(done.stdout.strip().splitlines()[-1])

    first = run()
    second = run()
    assert first["cache"] == second["cache"] and os.path.isfile(second["cache"])
    assert second["loaded"] > 0  # the first process's compiled graphs, from disk


def compile_progress(server: ServerProcess) -> dict:
    with urllib.request.urlopen(server.http + "/v1/models/load", timeout=10) as reply:
        return json.loads(reply.read())["compile"]


def test_a_server_edits_eagerly_while_it_compiles_then_with_the_compiled_model(model_cache):
    """`pixels serve --compile full`: the model serves at once; the compile runs for every
    working size beside it, reported as load progress; then edits run compiled, with no
    new compile, and give the eager edit within two 8-bit levels."""
    server = ServerProcess("--compile", "full", cache=model_cache)
    try:
        with Client(server.url) as client:
            eager = client.submit(scene_request(64)).result(timeout=300)
            progress = compile_progress(server)
            assert progress["mode"] == "full" and progress["state"] in ("compiling", "ready")
            deadline = time.monotonic() + 900
            while progress["state"] == "compiling" and time.monotonic() < deadline:
                time.sleep(1)
                progress = compile_progress(server)
            assert progress["state"] == "ready", progress
            assert progress["shapes_done"] == progress["shapes"] > 1 and progress["graphs"] > 0
            compiled = client.submit(scene_request(64)).result(timeout=300)
            assert compile_progress(server)["graphs"] == progress["graphs"]
        difference = np.abs(read_png(compiled.image).astype(int) - read_png(eager.image))
        assert difference.max() <= 2  # 8-bit levels
    finally:
        assert server.stop() == 0, "".join(server.log)
    assert any("compiled for" in line for line in server.log)
