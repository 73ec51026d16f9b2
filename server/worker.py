"""The one thread that owns the model: it loads (and switches) models and runs the
queued edits one at a time, so torch never runs on the event loop or in two threads.
"""

import logging
import threading
import time
from dataclasses import dataclass

import torch

from pixels_contract.messages import (
    BUSY,
    EDIT_FAILED,
    EXEMPLAR,
    GLOBAL_MAP,
    MAP,
    MODEL_UNAVAILABLE,
    OUT_OF_MEMORY,
    SOURCE,
    Cancelled,
    Progress,
    Refusal,
    Result,
    Started,
)
from pixels_contract.png import encode_grey
from pixels_engine import Cancelled as EditCancelled
from pixels_engine import Editor, EditSettings, Exemplar, PixelsError, load_model
from pixels_engine.compiled import Compiling, compile_model, warm_up
from pixels_engine.editor import edit_map
from pixels_engine.images import to_uint8
from pixels_engine.models import first_line
from pixels_engine.region import bounding_box, buckets

from . import images
from .jobs import FairQueue, Job, shutting_down

log = logging.getLogger("pixels.server")


@dataclass
class Load:
    """A model load and how far it got: waiting (for the running job), loading, ready,
    failed."""

    name: str
    device: str = "auto"
    dtype: str = "auto"
    offload: bool = False
    compile: str = "off"  # off, blocks or full (pixels_engine.compiled)
    state: str = "waiting"
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    downloaded: int = 0  # bytes of a download from the Hub, while one runs
    download_size: int = 0
    compiling: Compiling | None = None  # the model's compile, once it has started
    compile_state: str = "off"  # off, compiling (eager serves meanwhile), ready, failed
    compile_shapes: int = 0  # working sizes to compile for

    def as_dict(self) -> dict:
        end = self.finished or time.time()
        return {
            "name": self.name,
            "device": self.device,
            "dtype": self.dtype,
            "offload": self.offload,
            "state": self.state,
            "elapsed_s": round(end - self.started, 2) if self.started else 0.0,
            "downloaded_mb": round(self.downloaded / 2**20, 1),
            "download_mb": round(self.download_size / 2**20, 1),
            "compile": {
                "mode": self.compile,
                "state": self.compile_state,
                "shapes": self.compile_shapes,
                "shapes_done": len(self.compiling.shapes) if self.compiling else 0,
                "graphs": self.compiling.compiles if self.compiling else 0,
                "artifacts_loaded": self.compiling.loaded if self.compiling else 0,
            },
            "error": self.error,
        }

    def progress(self, done: int, total: int) -> None:
        """A download's bytes (from the loading thread)."""
        self.downloaded, self.download_size = done, total


class Worker(threading.Thread):
    """Runs loads and jobs; tells each job's owner about it through `owner.post`."""

    def __init__(self, queue: FairQueue, load: Load, preview_interval: float, on_take, on_finish):
        super().__init__(name="pixels-worker", daemon=True)
        self.queue = queue
        self.load = load
        self.preview_interval = preview_interval
        self.on_take = on_take  # called with each job taken off the queue
        self.on_finish = on_finish  # called with each job that ends
        self.model = None
        self.editor: Editor | None = None
        self.current: Job | None = None
        self.low_memory = False
        self._lock = threading.Lock()
        self._stopping = False

    def request_load(
        self, name: str, device: str, dtype: str, offload: bool = False, compile: str = "off"
    ) -> Load:
        """Load (or switch to) a model after the running job; the old one serves until then."""
        with self._lock:
            if self.load.state in ("waiting", "loading"):
                raise Refusal(
                    BUSY, f"model {self.load.name} is still loading; wait for it to finish."
                )
            self.load = Load(name, device, dtype, offload, compile)
        self.queue.wake()
        return self.load

    def stop(self) -> None:
        self._stopping = True
        job = self.current
        if job is not None:
            job.cancel.set()

    def run(self) -> None:
        while not self._stopping:
            if self.load.state == "waiting":
                self.switch_model(self.load)
                continue
            job = self.queue.get()
            if job is not None:
                self.on_take(job)
                self.current = job
                self.run_job(job)
                self.current = None

    def switch_model(self, load: Load) -> None:
        """Load `load.name`; on failure the old model (if any) stays."""
        load.state, load.started = "loading", time.time()
        try:
            model = load_model(load.name, load.device, load.dtype, load.offload, load.progress)
        except Exception as e:  # a broken checkpoint must not take the server down
            known = isinstance(e, PixelsError)
            load.error = str(e) if known else f"{type(e).__name__}: {first_line(e)}"
            load.state, load.finished = "failed", time.time()
            log.error("could not load model %s: %s", load.name, load.error, exc_info=not known)
            return
        if load.compile == "blocks":  # seconds: before serving, for the square size
            model, load.compiling = compile_model(model, "blocks")
            load.compile_shapes = 1
            warm_up(Editor(model), load.compiling, [(model.native_size, model.native_size)])
            load.compile_state = "ready"
        self.model, self.editor, self.low_memory = model, Editor(model), False
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the old model's memory
        load.state, load.finished = "ready", time.time()
        log.info("model %s ready on %s (%s)", model.name, model.device, model.dtype)
        if load.compile == "full":  # minutes: the eager model serves meanwhile
            load.compile_state = "compiling"
            try:
                # Changes the denoiser in place (fused projections, memory format), so it
                # runs here, on the worker's thread, before any job uses the model.
                compiled, load.compiling = compile_model(model, "full")
            except Exception:
                self.compile_failed(load, model)
                return
            args = (load, model, compiled)
            threading.Thread(target=self.compile_full, args=args, daemon=True).start()

    def compile_full(self, load: Load, model, compiled) -> None:
        """Compile the whole denoiser for every working size on synthetic edits, then
        serve with it; until then, and if it fails, the eager model serves."""
        try:
            shapes = buckets(model.native_size)
            load.compile_shapes = len(shapes)
            warm_up(Editor(compiled), load.compiling, shapes)
        except Exception:
            self.compile_failed(load, model)
            return
        if self.model is model:  # not switched away meanwhile
            self.model, self.editor = compiled, Editor(compiled)
        load.compile_state = "ready"
        log.info("model %s compiled for %d working sizes", model.name, len(shapes))

    @staticmethod
    def compile_failed(load: Load, model) -> None:
        """Log why (called from an except block); the eager model goes on serving."""
        load.compile_state = "failed"
        log.exception("compiling %s failed; the model serves uncompiled", model.name)

    def run_job(self, job: Job) -> None:
        """Run one job and tell its owner how it ended, whatever happens."""
        job.state, job.started = "running", time.time()
        try:
            job.end("done", self.deliver(job))
        except EditCancelled:
            if self._stopping:  # not the user's doing: say why it ended
                self.fail(job, shutting_down())
            else:
                job.end("cancelled", Cancelled(job.id))
        except Refusal as e:
            self.fail(job, e)
        except Exception as e:
            log.exception("job %s failed", job.id)
            message = (
                f"the edit failed ({type(e).__name__}: {first_line(e)}). The server keeps "
                "running; its log has the details."
            )
            self.fail(job, Refusal(EDIT_FAILED, message))
        finally:
            self.on_finish(job)

    def deliver(self, job: Job) -> Result:
        """Decode, edit, encode: the result for the job's owner."""
        if self._stopping:
            raise shutting_down()
        if job.cancel.is_set():
            raise EditCancelled()
        if self.editor is None:
            raise Refusal(
                MODEL_UNAVAILABLE,
                f"no model is loaded ({self.load.name}: {self.load.error or self.load.state})."
                " Load one with POST /v1/models/load?name=...",
            )
        job.owner.post(Started(job.id))
        began = time.perf_counter()
        inputs = decode(job)
        decoded = time.perf_counter()
        if job.want == "map":
            return self.edit_map(job, *inputs, decoded - began)
        result, low_memory = self.edit(job, *inputs)
        edited = time.perf_counter()
        # Bytes to this machine are free; compressing a large canvas is not.
        png = images.encode(result.image, level=0 if job.owner.local else 1)
        timings = {
            "queued": job.started - job.submitted,
            "decode_images": decoded - began,
            **result.timings,
            "edit": edited - decoded,  # the engine's call, maps and progress included
            "encode_result": time.perf_counter() - edited,
        }
        return Result(
            job.id,
            png,
            result.seed,
            list(result.region) if result.region else None,
            list(result.working_size) if result.working_size else None,
            result.steps_run,
            timings,
            result.random_weights,
            low_memory,
        )

    def edit_map(self, job: Job, source, exemplars, global_map, decoding: float) -> Result:
        """The map the edit would use, as an 8-bit grey PNG on the canvas."""
        began = time.perf_counter()
        try:
            m = edit_map(source, exemplars, EditSettings(**job.params), global_map)
        except PixelsError as e:
            raise Refusal(EDIT_FAILED, str(e)) from None
        box = bounding_box(m < 1.0)
        grey = to_uint8(m)
        png = encode_grey(grey.shape[1], grey.shape[0], grey.tobytes(), level=1)
        timings = {"decode_images": decoding, "map": time.perf_counter() - began}
        seed = job.params["seed"] or 0
        weights = self.model.random_weights
        return Result(job.id, png, seed, list(box) if box else None, None, 0, timings, weights)

    def fail(self, job: Job, error: Refusal) -> None:
        job.end("failed", error.error(job.id, job.ref))

    def edit(self, job: Job, source, exemplars, global_map):
        """(the engine's result, whether low-memory mode made it): the edit with
        progress, retried once in low-memory mode after an out-of-memory error. Low-memory
        mode ends with the job, so the next edit's bytes do not depend on this one's luck."""
        began, last_preview = time.monotonic(), [0.0]
        settings = EditSettings(**job.params)

        def on_step(step) -> None:
            now = time.monotonic()
            done = step.index + 1
            eta = (now - began) / done * (step.total - done)
            preview = None
            if now - last_preview[0] >= self.preview_interval or done == step.total:
                preview, last_preview[0] = images.encode(step.preview()), now
            job.owner.post(Progress(job.id, done, step.total, eta, preview))

        def run():
            return self.editor.edit(
                source, exemplars, settings, global_map, on_step, job.cancel.is_set
            )

        try:
            return run(), False
        except PixelsError as e:
            raise Refusal(EDIT_FAILED, str(e)) from None
        except (torch.cuda.OutOfMemoryError, RuntimeError, MemoryError) as e:
            if not is_out_of_memory(e):
                raise
        log.warning("job %s ran out of memory; retrying in low-memory mode", job.id)
        self.low_memory_mode(True)
        began = time.monotonic()
        try:
            return run(), True
        except (torch.cuda.OutOfMemoryError, RuntimeError, MemoryError) as e:
            if not is_out_of_memory(e):
                raise
            raise Refusal(
                OUT_OF_MEMORY,
                f"out of memory on {self.model.device} for a {job.canvas[0]}x{job.canvas[1]} "
                "canvas, even in low-memory mode. Edit a smaller area or canvas, or free memory "
                "used by other programs.",
            ) from None
        finally:
            self.low_memory_mode(False)

    def low_memory_mode(self, on: bool) -> None:
        """Slower, leaner attention and VAE tiling, or back to the usual path; either way
        the cached blocks of the failed attempt are released."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        self.model.family.low_memory(on)
        self.low_memory = on


def decode(job: Job):
    """The job's frames as the engine's arrays: source, exemplars, global map."""
    source, exemplars, global_map = None, [], None
    for i, frame in enumerate(job.frames):
        grey = frame.kind in (MAP, GLOBAL_MAP)
        array = images.decode(frame.data, frame.role, f"frames[{i}]", grey)
        if frame.kind == SOURCE:
            source = array
        elif frame.kind == EXEMPLAR:
            exemplars.append(Exemplar(array))
        elif frame.kind == MAP:
            exemplars[-1].map = array
        else:
            global_map = array
    return source, exemplars, global_map


def is_out_of_memory(error: Exception) -> bool:
    """CUDA's error, Python's, or the allocator messages of the other devices (CPU, MPS)."""
    text = str(error)
    return isinstance(error, torch.cuda.OutOfMemoryError | MemoryError) or any(
        words in text for words in ("out of memory", "not enough memory", "can't allocate memory")
    )
