"""The one thread that owns the model: it loads (and switches) models and runs the
queued edits one at a time, so torch never runs on the event loop or in two threads.
"""

import logging
import threading
import time
from dataclasses import dataclass, field

import torch

from pixels_client.protocol import (
    BUSY,
    EDIT_FAILED,
    EXEMPLAR,
    GLOBAL_MAP,
    MAP,
    MODEL_UNAVAILABLE,
    OUT_OF_MEMORY,
    SHUTTING_DOWN,
    SOURCE,
)
from pixels_engine import Cancelled, Editor, Exemplar, PixelsError, load_model
from pixels_engine.models import first_line

from . import images
from .errors import Refused
from .jobs import FairQueue, Job

log = logging.getLogger("pixels.server")


@dataclass
class Load:
    """A model load and how far it got: waiting (for the running job), loading, ready,
    failed."""

    name: str
    device: str = "auto"
    dtype: str = "auto"
    state: str = "waiting"
    requested: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None

    def as_dict(self) -> dict:
        end = self.finished or time.time()
        return {
            "name": self.name,
            "device": self.device,
            "dtype": self.dtype,
            "state": self.state,
            "elapsed_s": round(end - self.started, 2) if self.started else 0.0,
            "error": self.error,
        }


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

    def request_load(self, name: str, device: str, dtype: str) -> Load:
        """Load (or switch to) a model after the running job; the old one serves until then."""
        with self._lock:
            if self.load.state in ("waiting", "loading"):
                raise Refused(
                    BUSY, f"model {self.load.name} is still loading; wait for it to finish."
                )
            self.load = Load(name, device, dtype)
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
            model = load_model(load.name, load.device, load.dtype)
        except Exception as e:  # a broken checkpoint must not take the server down
            known = isinstance(e, PixelsError)
            load.error = str(e) if known else f"{type(e).__name__}: {first_line(e)}"
            load.state, load.finished = "failed", time.time()
            log.error("could not load model %s: %s", load.name, load.error, exc_info=not known)
            return
        self.model, self.editor, self.low_memory = model, Editor(model), False
        if torch.cuda.is_available():
            torch.cuda.empty_cache()  # the old model's memory
        load.state, load.finished = "ready", time.time()
        log.info("model %s ready on %s (%s)", model.name, model.device, model.dtype)

    def run_job(self, job: Job) -> None:
        """Run one job and tell its owner how it ended, whatever happens."""
        job.state, job.started = "running", time.time()
        try:
            self.deliver(job)
            job.state = "done"
        except Cancelled:
            if self._stopping:  # not the user's doing: say why it ended
                self.fail(job, Refused(SHUTTING_DOWN, "the server is shutting down."))
            else:
                job.state = "cancelled"
                job.owner.post({"type": "cancelled", "job": job.id})
        except Refused as e:
            self.fail(job, e)
        except Exception as e:
            log.exception("job %s failed", job.id)
            message = (
                f"the edit failed ({type(e).__name__}: {first_line(e)}). The server keeps "
                "running; its log has the details."
            )
            self.fail(job, Refused(EDIT_FAILED, message))
        finally:
            job.finished = time.time()
            self.on_finish(job)

    def deliver(self, job: Job) -> None:
        """Decode, edit, encode, and send the result to the job's owner."""
        if self._stopping:
            raise Refused(SHUTTING_DOWN, "the server is shutting down.")
        if job.cancel.is_set():
            raise Cancelled()
        if self.editor is None:
            raise Refused(
                MODEL_UNAVAILABLE,
                f"no model is loaded ({self.load.name}: {self.load.error or self.load.state})."
                " Load one with POST /v1/models/load?name=...",
            )
        job.owner.post({"type": "started", "job": job.id})
        began = time.perf_counter()
        inputs = decode(job)
        decoded = time.perf_counter()
        result = self.edit(job, *inputs)
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
        message = {
            "type": "result",
            "job": job.id,
            "seed": result.seed,
            "region": list(result.region) if result.region else None,
            "working_size": list(result.working_size) if result.working_size else None,
            "steps_run": result.steps_run,
            "timings": {k: round(v, 4) for k, v in timings.items()},
            "random_weights": result.random_weights,
            "frames": 1,
        }
        job.owner.post(message, [png])

    def fail(self, job: Job, error: Refused) -> None:
        job.state, job.error = "failed", error.code
        job.owner.post(error.as_message(job=job.id, ref=job.ref))

    def edit(self, job: Job, source, exemplars, global_map):
        """Run the edit, with progress; one retry in low-memory mode after an
        out-of-memory error."""
        began, last_preview = time.monotonic(), [0.0]

        def on_step(step) -> None:
            now = time.monotonic()
            done = step.index + 1
            eta = (now - began) / done * (step.total - done)
            frames = []
            if now - last_preview[0] >= self.preview_interval or done == step.total:
                frames, last_preview[0] = [images.encode(step.preview())], now
            message = {"type": "progress", "job": job.id, "step": done, "total": step.total}
            job.owner.post({**message, "eta": round(eta, 3), "frames": len(frames)}, frames)

        def run():
            return self.editor.edit(
                source, exemplars, job.settings, global_map, on_step, job.cancel.is_set
            )

        try:
            return run()
        except PixelsError as e:
            raise Refused(EDIT_FAILED, str(e)) from None
        except (torch.cuda.OutOfMemoryError, RuntimeError, MemoryError) as e:
            if not is_out_of_memory(e):
                raise
        self.free_memory()
        log.warning("job %s ran out of memory; retrying in low-memory mode", job.id)
        began = time.monotonic()
        try:
            return run()
        except (torch.cuda.OutOfMemoryError, RuntimeError, MemoryError) as e:
            if not is_out_of_memory(e):
                raise
            self.free_memory()
            raise Refused(
                OUT_OF_MEMORY,
                f"out of memory on {self.model.device} for a {job.canvas[0]}x{job.canvas[1]} "
                "canvas, even in low-memory mode. Edit a smaller area or canvas, or free memory "
                "used by other programs.",
            ) from None

    def free_memory(self) -> None:
        """Release cached blocks and switch to slower, leaner attention and VAE tiling
        (kept for later jobs: the next one would likely run out too)."""
        if torch.cuda.is_available():
            torch.cuda.empty_cache()
        pipe = self.model.pipe
        pipe.enable_attention_slicing()
        pipe.vae.enable_tiling()
        self.low_memory = True


def decode(job: Job):
    """The job's frames as the engine's arrays: source, exemplars, global map."""
    source, exemplars, global_map = None, [], None
    for frame in job.frames:
        array = images.decode(frame.data, frame.role, grey=frame.kind in (MAP, GLOBAL_MAP))
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
