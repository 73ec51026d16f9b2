"""Loading models by name: built-in, folder, refused pickles, offline Hub ids; the cache
of built models: damaged builds rebuilt, killed builds cleaned, an unwritable cache named."""

import json
import logging
import os
import pickle
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionXLImg2ImgPipeline
from huggingface_hub import constants as hf_constants
from serving import ROOT

from pixels_client import Client
from pixels_engine import PixelsError, builtins, load_model
from pixels_engine.models import pick_device, pick_dtype


class Payload:
    """Unpickling this writes a file: proof that a pickle was (or was not) loaded."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


def test_tiny_is_built_once_as_safetensors_and_loaded_like_a_checkpoint(tiny):
    folder = builtins.tiny_folder()
    assert (folder / "model_index.json").is_file() and builtins.built(folder)["random_weights"]
    weights = {p.suffix for p in folder.rglob("*") if p.suffix in (".safetensors", ".bin")}
    assert weights == {".safetensors"}
    assert isinstance(tiny.pipe, StableDiffusionXLImg2ImgPipeline) and tiny.family.is_sdxl
    assert tiny.random_weights and tiny.native_size == 512
    assert tiny.pipe.vae_scale_factor == 8 and tiny.pipe.text_encoder_2 is not None


def test_a_folder_path_loads_and_is_flagged_random_by_its_marker(tiny):
    model = load_model(str(builtins.tiny_folder()), device="cpu")
    assert model.random_weights and model.family.is_sdxl


@pytest.mark.parametrize("suffix", [".ckpt", ".bin", ".pt", ".pth"])
def test_pickle_checkpoints_are_refused_unopened(tmp_path, suffix):
    marker = tmp_path / "code-ran"
    evil = tmp_path / f"model{suffix}"
    evil.write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(PixelsError, match="pickle"):
        load_model(str(evil), device="cpu")
    assert not marker.exists()


def test_a_folder_with_pickle_weights_is_not_unpickled(tmp_path, tiny):
    folder = tmp_path / "model"
    shutil.copytree(builtins.tiny_folder(), folder)
    for weights in (folder / "unet").glob("*.safetensors"):
        weights.unlink()
    marker = tmp_path / "code-ran"
    (folder / "unet" / "diffusion_pytorch_model.bin").write_bytes(pickle.dumps(Payload(marker)))
    with pytest.raises(PixelsError, match="could not load the model folder"):
        load_model(str(folder), device="cpu")
    assert not marker.exists()


def test_wrong_paths_are_named(tmp_path):
    with pytest.raises(PixelsError, match="model file not found"):
        load_model(str(tmp_path / "nowhere.safetensors"), device="cpu")


def test_a_folder_without_a_model_reads_as_a_missing_one(monkeypatch, tmp_path):
    """Whether a folder or file is there goes untold (a client of the server would learn
    of its disk); a relative name that is no model folder is a Hub id, whatever is there."""
    monkeypatch.setattr(hf_constants, "ENDPOINT", "https://127.0.0.1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hub"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("not a model")

    def error(name: str) -> str:
        with pytest.raises(PixelsError) as refused:
            load_model(name, device="cpu")
        return str(refused.value).replace(name, "NAME").replace(str(Path(name)), "NAME")

    for form in (f"{tmp_path}/{{}}", "./{}", "{}"):
        errors = {error(form.format(name)) for name in ("a-folder", "a-file", "nothing-here")}
        assert len(errors) == 1, errors
    homes = ("~root/nothing-here", "~no-such-user/nothing-here", "~root/x.safetensors")
    assert len({error(name) for name in homes[:2]}) == 1
    assert error(homes[2]) == "model file not found: NAME. Check the path."


def test_an_unreachable_hub_fails_at_once_with_the_alternatives(monkeypatch, tmp_path):
    monkeypatch.setattr(hf_constants, "ENDPOINT", "https://127.0.0.1")
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    with pytest.raises(PixelsError, match="cannot be reached.*--model tiny"):
        load_model("sdxl", device="cpu")


def test_sdxl_random_has_the_published_sdxl_base_architecture(tmp_path):
    c = builtins.sdxl.sdxl_configs()
    with torch.device("meta"):
        pipe = builtins.sdxl.build_sdxl(
            c["unet"], c["vae"], c["text"], c["text_2"], c["scheduler"], 0, tmp_path
        )
    assert sum(p.numel() for p in pipe.unet.parameters()) == 2_567_463_684
    assert pipe.unet.config.cross_attention_dim == 2048 and pipe.vae_scale_factor == 8
    assert pipe.text_encoder_2.config.projection_dim == 1280


def test_device_and_dtype_choices():
    assert pick_dtype("auto", torch.device("cpu")) == torch.float32
    assert pick_dtype("auto", torch.device("cuda")) == torch.float16
    with pytest.raises(PixelsError, match="fp16 does not run on the CPU") as cpu:
        pick_dtype("fp16", torch.device("cpu"))
    assert cpu.value.field == "dtype"
    if torch.cuda.is_available():
        assert pick_device("cuda").type == "cuda"
    else:
        with pytest.raises(PixelsError, match="sees no CUDA GPU") as gpu:
            pick_device("cuda")
        assert gpu.value.field == "device"
    for name, pick in (("quantum", pick_device), ("fp8", lambda n: pick_dtype(n, "cpu"))):
        with pytest.raises(PixelsError, match="choose auto") as unknown:
            pick(name)
        assert unknown.value.field in ("device", "dtype")


@pytest.mark.parametrize(
    "config, cls, parameters",
    [
        (("sd35-large", "transformer"), "SD3Transformer2DModel", 8_056_627_520),
        (("flux1-dev", "transformer"), "FluxTransformer2DModel", 11_901_408_320),
    ],
)
def test_the_full_size_flow_models_have_the_published_architectures(config, cls, parameters):
    """sd35-random and flux-random build these (counted here on the meta device)."""
    import diffusers

    from pixels_engine.builtins.configs import read

    with torch.device("meta"):
        model = getattr(diffusers, cls).from_config(read(*config))
    assert sum(p.numel() for p in model.parameters()) == parameters


# --- the cache of built models --------------------------------------------------------

BUILT = "tiny-chroma"  # the smallest build: 1.4 MB, rebuilt in a fraction of a second


def flip_a_bit(folder):
    weights = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1000] ^= 0x10  # inside a tensor: it still loads, with another weight
    weights.write_bytes(bytes(data))


def truncate(folder):
    weights = folder / "text_encoder" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:5000])


def garbage_config(folder):
    (folder / "transformer" / "config.json").write_text("{garbage")


def empty_tokenizer(folder):
    for file in (folder / "tokenizer").iterdir():
        file.write_bytes(b"")


def no_model_index(folder):
    (folder / "model_index.json").unlink()


def an_extra_variant(folder):
    """A file the build did not write that from_pretrained would read in half precision."""
    weights = folder / "transformer" / "diffusion_pytorch_model.safetensors"
    shutil.copy(weights, weights.with_suffix(".fp16.safetensors"))


@pytest.fixture(scope="module")
def pristine(model_cache, tmp_path_factory):
    """A copy of the build as it was made, and its folder's name in the cache."""
    folder = builtins.tiny_folder(BUILT)
    copy = tmp_path_factory.mktemp("pristine") / folder.name
    shutil.copytree(folder, copy)
    return copy


def files_of(folder) -> dict:
    return {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }


@pytest.mark.parametrize(
    "damage",
    [flip_a_bit, truncate, garbage_config, empty_tokenizer, no_model_index, an_extra_variant],
)
def test_a_damaged_build_is_rebuilt_with_a_warning(damage, pristine, tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("PIXELS_CACHE", str(tmp_path))
    cached = tmp_path / "models" / pristine.name
    shutil.copytree(pristine, cached)
    damage(cached)
    with caplog.at_level(logging.WARNING, logger="pixels.engine"):
        model = load_model(BUILT, device="cpu")
    assert model.random_weights and model.family.name == "chroma"
    warning = caplog.text
    assert f"the built model {BUILT} in {cached} does not match its build" in warning
    assert "Rebuilding it" in warning
    assert files_of(cached) == files_of(pristine)  # the very files that were built
    assert sorted(p.name for p in cached.parent.iterdir() if not p.name.endswith(".lock")) == [
        pristine.name
    ]
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="pixels.engine"):
        load_model(BUILT, device="cpu")  # sound now: loaded as it is
    assert not caplog.text


def test_each_file_of_a_build_is_recorded_with_its_size_and_sha256(pristine):
    import hashlib

    recorded = builtins.built(pristine)["files"]
    on_disk = {n: data for n, data in files_of(pristine).items() if n != builtins.MARKER}
    assert set(recorded) == set(on_disk) and "transformer/config.json" in recorded
    for name, data in on_disk.items():
        assert recorded[name] == {"bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}


KILLED_BUILD = "from pixels_engine import builtins; builtins.tiny_folder('tiny')"


def test_a_build_killed_midway_is_cleaned_and_built_again(tmp_path, monkeypatch):
    monkeypatch.setenv("PIXELS_CACHE", str(tmp_path))
    models = tmp_path / "models"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    build = subprocess.Popen([sys.executable, "-c", KILLED_BUILD], env=env)
    try:
        scratch = []
        while not scratch and build.poll() is None:
            scratch = [p for p in models.glob("*") if p.is_dir() and p.name != "tiny-sdxl-v2"]
            time.sleep(0.01)
        os.kill(build.pid, signal.SIGKILL)
    finally:
        build.wait()
    assert scratch and scratch[0].exists(), "the build was not caught midway"
    assert not (models / "tiny-sdxl-v2" / "model_index.json").exists()
    load_model("tiny", device="cpu")
    assert sorted(p.name for p in models.iterdir() if p.is_dir()) == ["tiny-sdxl-v2"]


def test_an_unwritable_cache_is_named(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    cache.write_text("a file where the cache should be")
    monkeypatch.setenv("PIXELS_CACHE", str(cache))
    with pytest.raises(PixelsError) as error:
        load_model(BUILT, device="cpu")
    message = str(error.value)
    assert f"cannot build model {BUILT} in the cache folder {cache}: Not a directory" in message
    assert "Set PIXELS_CACHE to a folder this user can write" in message


def damaged_folder(pristine, tmp_path):
    """A diffusers folder not built here (no marker) whose text encoder is cut short."""
    folder = tmp_path / "downloaded"
    shutil.copytree(pristine, folder)
    (folder / builtins.MARKER).unlink()
    truncate(folder)
    return folder


def test_a_damaged_folder_given_by_path_is_named(pristine, tmp_path):
    folder = damaged_folder(pristine, tmp_path)
    with pytest.raises(PixelsError) as error:
        load_model(str(folder), device="cpu")
    message = str(error.value)
    assert message.startswith(f"could not load the model folder {folder}: ")
    assert "damaged or incomplete" in message and "Hugging Face id" not in message


def test_the_server_reports_a_damaged_folder_and_keeps_its_model(server, pristine, tmp_path):
    folder = damaged_folder(pristine, tmp_path)
    client = Client(server.url)
    assert client.load_model(str(folder), device="cpu")["state"] in ("waiting", "loading")
    deadline = time.monotonic() + 120
    while client.load_state()["state"] not in ("ready", "failed"):
        assert time.monotonic() < deadline, "the load never ended"
        time.sleep(0.1)
    state = client.load_state()
    assert state["state"] == "failed"
    assert state["error"].startswith(f"could not load the model folder {folder}: ")
    with urllib.request.urlopen(server.http + "/health") as answer:
        assert json.loads(answer.read())["model"]["state"] == "ready"  # the old one serves
