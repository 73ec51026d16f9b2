"""The denoiser compiled with torch.compile: faster steps once compiled, for a compile per
working size (the buckets keep those to a few), kept on disk so a restart reuses them.

- "blocks" compiles the model's repeated blocks in place (seconds): a quick first gain.
- "full" compiles the whole model (minutes), UNets in channels-last memory, with the
  attention projections fused where the model offers it: the fastest steps. It is a new
  module beside the eager one, so a server can go on editing eagerly while it compiles
  (`warm_up` compiles it for every working size on a synthetic edit).

Every compile is counted and logged (one per new shape, batch or guidance); the compiled
artifacts are saved under the project's cache folder after each one and loaded before
the first, so a restart finds them warm (PyTorch's compile cache artifacts).
"""

import copy
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import builtins, region
from .catalog import COMPILE_MODES as MODES
from .errors import PixelsError

log = logging.getLogger("pixels.engine")


@dataclass
class Compiling:
    """How far a compile got, for logs, the server's load progress and tests."""

    mode: str
    cache: Path
    compiles: int = 0  # graphs compiled (a new shape or guidance compiles one more)
    seconds: float = 0.0  # spent compiling
    loaded: int = 0  # artifacts found on disk at the start
    shapes: list[tuple[int, int]] = field(default_factory=list)  # warmed working sizes

    def backend(self):
        """Inductor, counted: every graph it compiles is logged and the cache saved."""
        inductor = torch._dynamo.lookup_backend("inductor")

        def compile_graph(graph, inputs):
            began = time.perf_counter()
            compiled = inductor(graph, inputs)
            self.compiles += 1
            self.seconds += time.perf_counter() - began
            log.info(
                "compiled the denoiser's graph %d (%.1f s in all)", self.compiles, self.seconds
            )
            self.save()
            return compiled

        return compile_graph

    def save(self) -> None:
        saved = torch.compiler.save_cache_artifacts()
        if saved is not None:
            self.cache.parent.mkdir(parents=True, exist_ok=True)
            temporary = self.cache.with_suffix(".tmp")
            temporary.write_bytes(saved[0])
            temporary.replace(self.cache)

    def load(self) -> None:
        if self.cache.is_file():
            info = torch.compiler.load_cache_artifacts(self.cache.read_bytes())
            self.loaded = sum(len(v) for v in vars(info).values()) if info is not None else 0
            log.info("loaded %d compiled artifacts from %s", self.loaded, self.cache)


def cache_file(model, mode: str) -> Path:
    """Artifacts depend on the model, its device and precision, the mode and torch."""
    device = torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else "cpu"
    key = f"{model.name}|{device}|{model.dtype}|{mode}|{torch.__version__}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:16]
    return builtins.cache_dir() / "compiled" / f"{digest}.bin"


def compile_model(model, mode: str):
    """(`model` whose steps call the compiled denoiser, the compile's state). "full": a
    new module beside the eager one, which goes on serving the `model` given; "blocks":
    the blocks compiled in place."""
    if mode not in MODES[1:]:
        raise PixelsError(
            f"{mode!r:.40} is not a compile mode; choose {', '.join(MODES)}.", "compile"
        )
    state = Compiling(mode, cache_file(model, mode))
    state.load()
    family = copy.copy(model.family)
    module = family.denoiser
    if hasattr(module, "fuse_qkv_projections") and mode == "full":
        module.fuse_qkv_projections()
    if mode == "blocks" and getattr(module, "_repeated_blocks", None):
        module.compile_repeated_blocks(fullgraph=True, backend=state.backend())
    else:
        if module.__class__.__name__.endswith("UNet2DConditionModel"):
            module.to(memory_format=torch.channels_last)
        family.denoiser = torch.compile(module, backend=state.backend())
    compiled = copy.copy(model)
    compiled.family = family
    return compiled, state


def warm_up(editor, state: Compiling, shapes=None, on_shape: Callable | None = None) -> None:
    """Compile for every working size (or `shapes`) by editing a synthetic picture of
    that size, so that no artist's edit waits for a compile."""
    from .editor import EditSettings, Exemplar

    for width, height in shapes or region.buckets(editor.model.native_size):
        source = np.ones((height, width, 4), np.float32) * 0.5
        exemplar = np.zeros_like(source)
        exemplar[height // 4 : height * 3 // 4, width // 4 : width * 3 // 4] = 1.0
        settings = EditSettings(steps=2, strength=1.0, seed=0, context=2.0)
        editor.edit(source, [Exemplar(exemplar)], settings)
        state.shapes.append((width, height))
        if on_shape is not None:
            on_shape(len(state.shapes))
