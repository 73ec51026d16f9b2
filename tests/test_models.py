"""Loading models by name: built-in, folder, refused pickles, offline Hub ids."""

import pickle
import shutil
from pathlib import Path

import pytest
import torch
from diffusers import StableDiffusionXLImg2ImgPipeline
from huggingface_hub import constants as hf_constants

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
    with pytest.raises(PixelsError, match="could not load model"):
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
