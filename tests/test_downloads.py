"""Models fetched from the Hugging Face Hub through the real huggingface_hub download
path, against a Hub on loopback (the real one cannot be reached from here; HF_ENDPOINT
points at it, as at any mirror) that serves a tiny model's files: only what the pipeline
reads is fetched (the fp16 variant for a half-precision model, never a single-file
checkpoint beside the folders), the bytes are reported as they come, and a gated
repository is explained."""

import hashlib
import http.server
import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import pytest
import torch

from pixels_engine import builtins, load_model
from pixels_engine.downloads import files_to_fetch

SHA = "0123456789abcdef0123456789abcdef01234567"
REPO, GATED = "studio/tiny-flux", "studio/gated-flux"


class Hub(http.server.BaseHTTPRequestHandler):
    """Enough of the Hub's API for a snapshot: a model's file list and tree, then each
    file."""

    files: dict[str, bytes] = {}
    fetched: list[str] = []
    endpoint, cache = "", Path()

    def do_HEAD(self):
        self.answer(body=False)

    def do_GET(self):
        self.answer(body=True)

    def answer(self, body: bool):
        path = self.path.split("?")[0]
        if GATED in path:
            return self.send(401, b'{"error": "gated"}', {"X-Error-Code": "GatedRepo"}, body)
        if path.startswith(f"/api/models/{REPO}/tree/"):
            entries = [
                {"type": "file", "path": name, "size": len(data), "oid": digest(data)}
                for name, data in sorted(self.files.items())
            ]
            return self.send(200, json.dumps(entries).encode(), {}, body)
        if path.startswith(f"/api/models/{REPO}"):
            siblings = [{"rfilename": name} for name in sorted(self.files)]
            info = {"id": REPO, "modelId": REPO, "sha": SHA, "siblings": siblings}
            return self.send(200, json.dumps(info).encode(), {}, body)
        prefix = f"/{REPO}/resolve/"
        if path.startswith(prefix):
            name = path[len(prefix) :].split("/", 1)[1]
            if name in self.files:
                data = self.files[name]
                if body:
                    self.fetched.append(name)
                headers = {"X-Repo-Commit": SHA, "ETag": f'"{digest(data)}"'}
                return self.send(200, data, headers, body)
        self.send(404, b"{}", {"X-Error-Code": "EntryNotFound"}, body)

    def send(self, status: int, data: bytes, headers: dict, body: bool):
        self.send_response(status)
        for key, value in {"Content-Length": str(len(data)), **headers}.items():
            self.send_header(key, value)
        self.end_headers()
        if body:
            self.wfile.write(data)

    def log_message(self, *args):
        pass


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@pytest.fixture(scope="module")
def repository(tmp_path_factory, model_cache):
    """The tiny FLUX's folder, with an fp16 variant of its weights and a single-file
    checkpoint at the top, as published repositories have."""
    folder = tmp_path_factory.mktemp("repo")
    shutil.copytree(builtins.tiny_folder("tiny-flux"), folder, dirs_exist_ok=True)
    (folder / builtins.MARKER).unlink()  # a downloaded model is not one of ours
    pipe = load_model(str(builtins.tiny_folder("tiny-flux")), device="cpu").pipe
    pipe.to(torch.float16).save_pretrained(folder, variant="fp16")
    (folder / "flux1-tiny.safetensors").write_bytes(b"a checkpoint nobody should fetch")
    return {
        str(path.relative_to(folder)): path.read_bytes()
        for path in folder.rglob("*")
        if path.is_file()
    }


@pytest.fixture
def hub(repository, tmp_path):
    Hub.files, Hub.fetched = repository, []
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Hub.endpoint, Hub.cache = f"http://127.0.0.1:{server.server_port}", tmp_path / "hub"
    yield Hub
    server.shutdown()


LOAD = """
import json, sys
from pixels_engine import PixelsError, load_model
reports = []
try:
    model = load_model(sys.argv[1], device="cpu", dtype=sys.argv[2],
                       progress=lambda done, total: reports.append([done, total]))
    print(json.dumps({"family": model.family.schema_name, "dtype": str(model.dtype),
                      "random": model.random_weights, "reports": reports}))
except PixelsError as e:
    print(json.dumps({"error": str(e)}))
"""


def load(hub, repo: str = REPO, dtype: str = "auto") -> dict:
    """load_model in a fresh process whose Hub is the one on loopback."""
    env = {**os.environ, "HF_ENDPOINT": hub.endpoint, "HF_HUB_CACHE": str(hub.cache)}
    done = subprocess.run(
        [sys.executable, "-c", LOAD, repo, dtype], capture_output=True, text=True, env=env
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


def test_only_what_the_pipeline_reads_is_chosen():
    files = [
        "model_index.json",
        "flux1-dev.safetensors",
        "transformer/config.json",
        "transformer/diffusion_pytorch_model.safetensors",
        "transformer/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.safetensors",
        "tokenizer_2/spiece.model",
        "README.md",
    ]
    assert files_to_fetch(files, "fp16") == [
        "model_index.json",
        "tokenizer_2/spiece.model",
        "transformer/config.json",
        "transformer/diffusion_pytorch_model.fp16.safetensors",
        "vae/diffusion_pytorch_model.safetensors",  # no variant: the full-precision file
    ]
    assert "transformer/diffusion_pytorch_model.safetensors" in files_to_fetch(files, None)


def test_a_model_is_fetched_once_with_its_bytes_reported(hub):
    loaded = load(hub)
    assert loaded["family"] == "flux-dev" and not loaded["random"]
    weights = [name for name in hub.fetched if name.endswith(".safetensors")]
    assert weights and all("/" in name and ".fp16." not in name for name in weights)  # fp32
    total = sum(len(hub.files[name]) for name in hub.fetched)
    reports = loaded["reports"]
    assert reports and reports[-1] == [total, total]
    assert [done for done, _ in reports] == sorted(done for done, _ in reports)
    snapshot = hub.cache / f"models--{REPO.replace('/', '--')}" / "snapshots" / SHA
    assert (snapshot / "model_index.json").is_file()
    assert not (snapshot / "flux1-tiny.safetensors").exists()
    hub.fetched.clear()
    assert load(hub)["reports"] == [] and hub.fetched == []  # from the cache now


def test_a_half_precision_model_fetches_the_fp16_variant(hub):
    assert load(hub, dtype="bf16")["dtype"] == "torch.bfloat16"
    weights = [name for name in hub.fetched if name.endswith(".safetensors")]
    assert weights and all(name.endswith(".fp16.safetensors") for name in weights)


def test_a_gated_model_says_how_to_get_access(hub):
    error = load(hub, GATED)["error"]
    assert "gated" in error and "accept it" in error and "hf auth login" in error
    assert f"{hub.endpoint}/{GATED}" in error
