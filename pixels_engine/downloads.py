"""Fetching a model from the Hugging Face Hub: only the files the pipeline reads (its
configs, tokenizers and safetensors weights, the half-precision variant where the
repository has one and the model will run in half precision), with byte progress, and
errors a user can act on (offline, gated, missing)."""

import io
import socket
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlparse

from diffusers.pipelines.pipeline_loading_utils import variant_compatible_siblings
from huggingface_hub import HfApi, snapshot_download
from huggingface_hub import constants as hf_constants
from huggingface_hub.errors import GatedRepoError, HfHubHTTPError, RepositoryNotFoundError
from tqdm import tqdm

from .errors import PixelsError

Progress = Callable[[int, int], None]  # (bytes done, bytes in all)
# What a diffusers pipeline folder holds besides weights: configs, tokenizers.
SMALL_SUFFIXES = (".json", ".txt", ".model", ".spm")


def reachable() -> bool:
    """Whether the Hub's address answers at all (an offline machine is told at once,
    instead of after a minute of retries)."""
    endpoint = urlparse(hf_constants.ENDPOINT)
    port = endpoint.port or (443 if endpoint.scheme == "https" else 80)
    try:
        socket.create_connection((endpoint.hostname, port), timeout=5).close()
    except OSError:
        return False
    return True


def files_to_fetch(files: list[str], variant: str | None) -> list[str]:
    """The pipeline's files among a repository's: the components' configs and
    tokenizers, and one safetensors set per component (the variant's where it exists),
    never the single-file checkpoints kept at the top of some repositories."""
    usable, _ = variant_compatible_siblings(files, variant=variant)
    weights = [f for f in usable if "/" in f and f.endswith(".safetensors")]
    small = [
        f for f in files if f == "model_index.json" or ("/" in f and f.endswith(SMALL_SUFFIXES))
    ]
    return sorted(set(small) | set(weights))


def fetch(repo_id: str, variant: str | None, progress: Progress | None = None) -> Path:
    """Download what the pipeline reads into the Hugging Face cache; its snapshot folder."""
    try:
        files = [s.rfilename for s in HfApi().model_info(repo_id).siblings or []]
        wanted = files_to_fetch(files, variant)
        folder = snapshot_download(
            repo_id, allow_patterns=wanted, tqdm_class=reporter(progress) if progress else None
        )
    except GatedRepoError:
        raise PixelsError(
            f"{repo_id} is gated: its authors ask you to accept their license first. Open "
            f"{hf_constants.ENDPOINT}/{repo_id} while logged in and accept it, then log in "
            "on this machine (`hf auth login`, or set HF_TOKEN) and load it again."
        ) from None
    except RepositoryNotFoundError:
        raise PixelsError(
            f"no model {repo_id} on the Hugging Face Hub (or it is private). Check the id."
        ) from None
    except (HfHubHTTPError, OSError) as e:
        raise PixelsError(f"could not download {repo_id}: {first_line(e)}") from None
    return Path(folder)


def reporter(progress: Progress) -> type:
    """A tqdm class whose byte bars report to `progress` (huggingface_hub draws its
    download progress with the class it is given)."""

    class Reporter(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["file"] = io.StringIO()  # the caller shows the progress its own way
            super().__init__(*args, **kwargs)

        def update(self, n=1):
            super().update(n)
            if self.unit == "B":
                progress(int(self.n), int(self.total or 0))

    return Reporter


def first_line(error: Exception) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
