"""The `pixels` command: a real run end to end, and every error path a user can hit.

Errors must be one clear line on stderr with exit status 2, never a traceback."""

import json
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from pixels_cli import samples
from pixels_cli.main import main
from pixels_engine.images import save_image


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("layers")
    source, (lake, rug) = samples.scene(128)
    layers = {
        "source": source,
        "lake": lake.image,
        "lake-map": lake.map,
        "rug": rug.image,
        "small": samples.rug(64),
    }
    for name, array in layers.items():
        save_image(array, folder / f"{name}.png")
    (folder / "notes.png").write_text("not an image")
    return {name: str(folder / f"{name}.png") for name in [*layers, "notes"]} | {"dir": folder}


def pixels_fails(capsys, *argv):
    """Run `pixels argv`; return stderr after checking it failed cleanly with status 2."""
    try:
        status = main(list(argv))
    except SystemExit as e:  # argparse's own usage errors
        status = e.code
    err = capsys.readouterr().err
    assert status == 2, err
    assert "Traceback" not in err
    return err


def test_edit_end_to_end_through_the_installed_command(files, model_cache, tmp_path):
    out = tmp_path / "edited.png"
    env = dict(os.environ, PIXELS_CACHE=str(model_cache))
    argv = [
        sys.executable,
        "-m",
        "pixels_cli",
        "edit",
        "--source",
        files["source"],
        "--exemplar",
        files["lake"],
        "--map",
        files["lake-map"],
        "--exemplar",
        files["rug"],
        "--steps",
        "8",
        "--strength",
        "0.5",
        "--seed",
        "7",
        "--threshold",
        "cubic",
        "--out",
        str(out),
    ]
    done = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "seed=7" in done.stdout and "steps=4" in done.stdout
    assert "RANDOM weights" in done.stderr
    edited = np.asarray(Image.open(out))
    source = np.asarray(Image.open(files["source"]))
    assert edited.shape == source.shape
    assert (edited != source).any() and (edited[0, 0] == source[0, 0]).all()


def test_global_map_with_no_exemplar_edits_by_prompt(files, model_cache, tmp_path, capsys):
    out = tmp_path / "dd.png"
    status = main(
        [
            "edit",
            "--source",
            files["source"],
            "--map",
            files["lake-map"],
            "--prompt",
            "a lake",
            "--steps",
            "4",
            "--seed",
            "1",
            "--out",
            str(out),
        ]
    )
    assert status == 0 and out.is_file()
    assert "seed=1" in capsys.readouterr().out


def test_map_tool_writes_an_adjusted_map(files, tmp_path, capsys):
    out = tmp_path / "rug-map.png"
    assert (
        main(
            [
                "map",
                "--from-alpha",
                files["rug"],
                "--transition",
                "8",
                "--grow",
                "2",
                "--feather",
                "3",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    m = np.asarray(Image.open(out))
    assert m.shape == (128, 128) and m.min() == 0 and m.max() == 255


@pytest.mark.parametrize(
    "argv, message",
    [
        (["--source", "missing.png"], "source file not found: missing.png"),
        (["--source", "{notes}"], "cannot read source"),
        (
            ["--source", "{source}", "--exemplar", "{small}"],
            "exemplar 1 is 64x64 but the source is 128x128",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--map", "{notes}"],
            "cannot read map of exemplar 1",
        ),
        (["--source", "{source}"], "nothing to edit"),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--strength", "0"],
            "--strength: must be above 0",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--steps", "0"],
            "--steps: must be 1 to 1000 steps, not 0",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--steps", "3", "--strength", "0.2"],
            "--strength: 0.2 of 3 steps runs no step",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--guidance", "-1"],
            "--guidance: must be 0 to 50",
        ),
        (["--source", "{source}", "--exemplar", "{rug}", "--seed", "-5"], "--seed: must be 0 to"),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--seed", str(2**32)],
            "--seed: must be 0 to 4294967295, or none",
        ),
        (["--source", "{source}", "--exemplar", "{rug}", "--grow", "900"], "--grow: must be"),
        (["--source", "{source}", "--exemplar", "{rug}", "--quantise", "1"], "except 1"),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--prompt", "x" * 2001],
            "--prompt: has 2001",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--gamma", "0"],
            "--gamma: must be 0.1 to 10",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--levels", "0.8,0.2"],
            "--levels: must be two numbers",
        ),
        (["--source", "{source}", "--exemplar", "{rug}", "--levels", "dark"], "give two numbers"),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--threshold", "wavy"],
            "invalid choice: 'wavy'",
        ),
        (
            [
                "--source",
                "{source}",
                "--exemplar",
                "{rug}",
                "--map",
                "{lake-map}",
                "--map",
                "{lake-map}",
            ],
            "already has a map",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--model", "{dir}/sd.ckpt"],
            "refusing to load",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--model", "{dir}/weights.bin"],
            "pickles",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--out", "{dir}/no/such/out.png"],
            "does not exist",
        ),
        (
            ["--source", "{source}", "--exemplar", "{rug}", "--dtype", "fp16", "--device", "cpu"],
            "--dtype: fp16 does not run on the CPU",
        ),
    ],
)
def test_edit_errors_name_the_problem(files, capsys, argv, message):
    argv = [a.format(**files) for a in argv]
    if "--out" not in argv:
        argv += ["--out", str(files["dir"] / "out.png")]
    assert message in pixels_fails(capsys, "edit", *argv)


def test_map_errors_name_the_problem(files, capsys):
    err = pixels_fails(
        capsys,
        "map",
        "--map",
        files["lake-map"],
        "--quantise",
        "1",
        "--out",
        str(files["dir"] / "m.png"),
    )
    assert "--quantise" in err


def test_an_unwritable_model_cache_is_named(files, capsys, monkeypatch):
    monkeypatch.setenv("PIXELS_CACHE", files["notes"])  # a file, not a folder
    argv = ["--source", files["source"], "--exemplar", files["rug"], "--model", "tiny-chroma"]
    err = pixels_fails(capsys, "edit", *argv, "--out", str(files["dir"] / "out.png"))
    assert (
        f"pixels: error: cannot build model tiny-chroma in the cache folder {files['notes']}" in err
    )
    assert "Set PIXELS_CACHE to a folder this user can write." in err


def test_a_damaged_built_model_is_rebuilt_and_the_user_told(files, model_cache, tmp_path):
    from pixels_engine import builtins

    built = builtins.tiny_folder("tiny-chroma")
    cached = tmp_path / "models" / built.name
    shutil.copytree(built, cached)
    (cached / "vae" / "config.json").write_text("")
    argv = ["--source", files["source"], "--exemplar", files["rug"], "--steps", "2"]
    argv += ["--model", "tiny-chroma", "--out", str(tmp_path / "out.png")]
    env = dict(os.environ, PIXELS_CACHE=str(tmp_path))
    command = [sys.executable, "-m", "pixels_cli", "edit", *argv]
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr
    assert (
        f"the built model tiny-chroma in {cached} does not match its build: vae/config.json is "
        "0 bytes, not"
    ) in done.stderr
    assert "Rebuilding it." in done.stderr and "Traceback" not in done.stderr


LIGHT_RUN = """
import json, sys
from pixels_cli.main import main
try:
    status = main(sys.argv[1:])
except SystemExit as e:
    status = e.code
heavy = {"torch", "diffusers", "transformers", "pixels_engine.editor"} & set(sys.modules)
print(json.dumps({"status": status, "heavy": sorted(heavy)}), file=sys.stderr)
"""


@pytest.mark.parametrize("command", ["help", "install-plugin", "edit-server", "map"])
def test_commands_that_run_no_model_load_no_model_library(command, files, server, tmp_path):
    """`pixels --help`, install-plugin, edit --server and map start without torch or
    diffusers (seconds on a small machine), so they feel instant."""
    argv = {
        "help": ["--help"],
        "install-plugin": ["install-plugin", "krita", "--profile", str(tmp_path)],
        "edit-server": [
            *("edit", "--source", files["source"], "--exemplar", files["rug"]),
            *("--server", server.url, "--steps", "2", "--out", str(tmp_path / "out.png")),
        ],
        "map": ["map", "--map", files["lake-map"], "--grow", "3", "--out", str(tmp_path / "m.png")],
    }[command]
    done = subprocess.run(
        [sys.executable, "-c", LIGHT_RUN, *argv], capture_output=True, text=True, timeout=300
    )
    report = json.loads(done.stderr.strip().splitlines()[-1])
    assert report == {"status": 0, "heavy": []}, done.stderr
