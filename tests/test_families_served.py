"""A flow model end to end: the CLI and the server run FLUX.1 (the tiny build) with the
parameters its family takes, and refuse what it cannot use in each front end's words."""

import subprocess
import sys

import pytest
from serving import ServerProcess, read_png, scene_request

from pixels_client import Client, JobError
from pixels_engine.images import save_image


@pytest.fixture(scope="module")
def flux_server():
    process = ServerProcess("--model", "tiny-flux")
    yield process
    process.stop()


def test_the_server_says_which_family_serves_and_edits_with_its_defaults(flux_server):
    with Client(flux_server.url) as client:
        assert client.connect().model["family"] == "flux-dev"
        result = client.submit(scene_request(64, steps=4, strength=0.5)).result(timeout=300)
        assert read_png(result.image).shape == (64, 64, 4) and result.steps_run == 2
        schnell_only = scene_request(64, negative_prompt="blurry")
        with pytest.raises(JobError) as refused:
            client.submit(schnell_only)
        assert refused.value.field == "params.negative_prompt"
        assert "FLUX.1 dev takes none" in str(refused.value)


def test_the_cli_edits_with_a_flow_model_and_names_the_flag(tmp_path, model_cache):
    from pixels_cli import samples

    source, (lake, _) = samples.scene(64)
    for name, array in {"source": source, "lake": lake.image, "map": lake.map}.items():
        save_image(array, tmp_path / f"{name}.png")
    base = [sys.executable, "-m", "pixels_cli", "edit", "--model", "tiny-flux"]
    files = ["--source", str(tmp_path / "source.png"), "--exemplar", str(tmp_path / "lake.png")]
    out = ["--out", str(tmp_path / "out.png"), "--steps", "4", "--seed", "2"]
    env = {"PIXELS_CACHE": str(model_cache), "PATH": "/usr/bin:/bin"}
    done = subprocess.run([*base, *files, *out], capture_output=True, text=True, env=env)
    assert done.returncode == 0 and "seed=2 steps=3" in done.stdout, done.stderr
    refused = subprocess.run(
        [*base, *files, *out, "--negative-prompt", "blurry"],
        capture_output=True,
        text=True,
        env=env,
    )
    assert refused.returncode == 2
    assert "--negative-prompt: FLUX.1 dev takes none" in refused.stderr
    assert "Traceback" not in refused.stderr
