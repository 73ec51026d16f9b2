"""The server: one port where `websockets` owns the socket; `exchange` reads each
connection's first request, lets websockets upgrade /v1/edit to the edit channel and
answers every other HTTP request with the Flask routes.

    asyncio.run(Server(Config(model="tiny")).serve())
"""

import asyncio
import contextlib
import functools
import logging
import signal
import time
from collections import deque
from importlib.metadata import PackageNotFoundError, version

from websockets.asyncio.server import serve
from websockets.datastructures import Headers
from websockets.http11 import Response

from pixels_contract.messages import (
    BAD_REQUEST,
    EDIT_PATH,
    KEEPALIVE_INTERVAL,
    KEEPALIVE_TIMEOUT,
    NOT_FOUND,
    PROTOCOL_VERSION,
    TOO_LARGE,
    Cancelled,
    Queued,
    Refusal,
    Welcome,
)
from pixels_contract.protocol import EditSubmitted
from pixels_engine.budget import job_bytes
from pixels_engine.region import BUCKETS, padded_pixels

from . import exchange, routes
from .channel import Channel
from .config import Config
from .jobs import FairQueue, Job, shutting_down
from .refusals import Guard, HTTPError
from .worker import Load, Worker

log = logging.getLogger("pixels.server")
CAPABILITIES = ["edit", "map", "cancel", "progress", "preview", "fair-queue", "models"]
RECENT_JOBS = 20


def server_version() -> str:
    try:
        return version("pixels-studio")
    except PackageNotFoundError:
        return "0+unknown"


class Server:
    def __init__(self, config: Config):
        config.validate()
        self.config = config
        self.queue = FairQueue(config.limits.queue_size, config.limits.max_job_bytes)
        load = Load(config.model, config.device, config.dtype, config.offload, config.compile)
        self.worker = Worker(self.queue, load, config.preview_interval, self.taken, self.finished)
        self.recent: deque[Job] = deque(maxlen=RECENT_JOBS)
        self.channels: set[Channel] = set()
        self.routes = routes.create_app(self)
        self.guard = Guard(config.host, config.token)
        self.started = time.time()
        self.port = config.port
        self.loop: asyncio.AbstractEventLoop | None = None

    # --- what the clients and the status page are told -------------------------------

    def welcome(self) -> Welcome:
        """The handshake's description of this server (also GET /v1/info)."""
        return Welcome(
            PROTOCOL_VERSION,
            server_version(),
            self.model_info(),
            self.config.limits,
            CAPABILITIES,
        )

    def family(self) -> str | None:
        """The serving model's family in the edit contract, None while none serves."""
        model = self.worker.model
        return None if model is None else model.family.schema_name

    def native_size(self) -> int:
        """The serving model's working side; until one serves, the buckets' own (SDXL's)."""
        model = self.worker.model
        return BUCKETS[0][0] if model is None else model.native_size

    def model_info(self) -> dict:
        """The model in use; while there is none, the name and state of its load."""
        load = self.worker.load
        return self.serving_model() or {"name": load.name, "state": load.state}

    def serving_model(self) -> dict | None:
        """The model that serves the edits, None until one has loaded."""
        model = self.worker.model
        if model is None:
            return None
        return {
            "name": model.name,
            "state": "ready",
            "device": str(model.device),
            "dtype": str(model.dtype).removeprefix("torch."),
            "random_weights": model.random_weights,
            "native_size": model.native_size,
            "family": model.family.schema_name,
            "low_memory": self.worker.low_memory,
        }

    # --- jobs --------------------------------------------------------------------------

    def submit(self, owner: Channel, request: EditSubmitted) -> Job:
        """Queue a checked request as a job and tell the clients where they are; Refusal
        when it would need more memory than a job may have, or the queue is full."""
        limits = self.config.limits
        kinds, encoded = [f.kind for f in request.frames], sum(len(f.data) for f in request.frames)
        native = self.native_size()
        need = job_bytes(request.canvas, kinds, request.params, native, encoded)
        if need > limits.max_job_bytes:
            width, height = request.canvas
            thin = padded_pixels(width, height, native) > 2 * width * height
            raise Refusal(
                TOO_LARGE,
                f"this edit would need about {gigabytes(need)} of memory (a {width}x{height} "
                f"canvas with {request.exemplars} exemplar(s) and these map settings"
                + ("; a canvas this thin is padded to the model's shape" if thin else "")
                + f"); this server allows {gigabytes(limits.max_job_bytes)} per job. Edit a "
                "smaller canvas or fewer exemplars, or start the server with a larger "
                "--max-job-memory.",
                "frames",
            )
        job = Job(
            owner, request.ref, request.params, request.frames, request.canvas, need, request.want
        )
        owner.jobs[job.id] = job  # before the worker can see it, and forget it
        try:
            self.queue.put(job)
        except Refusal:
            owner.jobs.pop(job.id)
            raise
        order = self.queue.order()
        job.position = order.index(job) + 1 if job in order else 1
        owner.post(Queued(job.id, job.position, job.ref))
        self.announce_positions()
        return job

    def announce_positions(self) -> None:
        """Tell each waiting job's owner its new place, when it changed (loop thread only)."""
        for place, job in enumerate(self.queue.order(), start=1):
            if job.position != place:
                job.position = place
                job.owner.post(Queued(job.id, place))

    def cancel(self, job: Job) -> bool:
        """A waiting job ends now; a running one at its next step. False if it had
        already ended."""
        if not job.request_cancel():
            return False
        if self.queue.remove(job) and job.end("cancelled", Cancelled(job.id)):
            self.finished(job)
            self.announce_positions()
        return True

    def receiving(self) -> int:
        """Bytes of the images of edits still arriving, on every connection."""
        return sum(channel.protocol.held for channel in self.channels)

    def taken(self, job: Job) -> None:
        """The worker took `job` off the queue: the others move up."""
        self.loop.call_soon_threadsafe(self.announce_positions)

    def finished(self, job: Job) -> None:
        """Called once per job, from whichever thread ended it."""
        job.owner.forget(job)
        self.recent.appendleft(job)

    # --- the socket --------------------------------------------------------------------

    async def handle(self, ws) -> None:
        channel = Channel(self, ws)
        self.channels.add(channel)
        try:
            await channel.run()
        finally:
            self.channels.discard(channel)

    def serve_http(self, request: exchange.Request) -> exchange.Answer:
        """A plain HTTP request, past the guards, to the Flask routes (in a worker thread)."""
        path, query, headers = request.path, request.query, request.headers
        self.guard.check(path, query, headers, request.port, websocket=False)
        return exchange.call_wsgi(self.routes, request)

    def process_request(self, connection, request) -> Response | None:
        """A WebSocket upgrade (`exchange` has checked its head): refuse what is not
        allowed; only the edit channel upgrades."""
        path, query = exchange.split_target(request.path)
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        try:
            self.guard.check(path, query, headers, connection.local_address[1], websocket=True)
            if path != EDIT_PATH:
                raise HTTPError(404, NOT_FOUND, f"no WebSocket at {path[:100]}; use {EDIT_PATH}.")
        except HTTPError as e:
            return upgrade_refused(e)
        return None  # websockets shakes hands (and checks the Origin once more)

    def process_response(self, connection, request, response) -> Response | None:
        """websockets' own refusals of a malformed upgrade (no Sec-WebSocket-Key, ...) in
        the JSON of every other error."""
        ours = "application/json" in response.headers.get_all("Content-Type")
        if response.status_code == 101 or ours:
            return None
        message = response.body.decode("utf-8", "replace").strip()
        upgrade = [("Upgrade", v) for v in response.headers.get_all("Upgrade")]  # on a 426
        error = HTTPError(response.status_code, BAD_REQUEST, message, headers=upgrade)
        return upgrade_refused(error)

    async def serve(self, ready=None) -> None:
        """Serve until SIGINT or SIGTERM (or the `stop` future), then shut down cleanly:
        waiting jobs are refused, the running one cancelled, the connections closed."""
        self.loop = asyncio.get_running_loop()
        self.stop = self.loop.create_future()
        for signum in (signal.SIGINT, signal.SIGTERM):
            # not on Windows, nor off the main thread (a server run inside a test)
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                self.loop.add_signal_handler(signum, self.request_stop)
        limits = self.config.limits
        async with serve(
            self.handle,
            self.config.host,
            self.config.port,
            create_connection=functools.partial(exchange.Connection, serve_http=self.serve_http),
            open_timeout=exchange.OPEN_TIMEOUT,
            process_request=self.process_request,
            process_response=self.process_response,
            origins=[None],  # plug-ins send no Origin; browsers always do
            max_size=limits.max_frame_bytes,
            compression=None,  # PNG frames are compressed already
            max_queue=2 + limits.max_frames,
            ping_interval=KEEPALIVE_INTERVAL,
            ping_timeout=KEEPALIVE_TIMEOUT,
        ) as ws_server:
            self.port = ws_server.sockets[0].getsockname()[1]
            self.worker.start()  # once the port is ours: a taken port costs no model load
            if ready is not None:
                ready(self)
            await self.stop
            self.worker.stop()
            for job in self.queue.close():
                job.end("failed", shutting_down().error(job.id))
            await asyncio.to_thread(self.worker.join, 30)
            await asyncio.sleep(0.1)  # let the senders flush the last messages
        log.info("server stopped")

    def request_stop(self) -> None:
        if not self.stop.done():
            self.stop.set_result(None)


def upgrade_refused(error: HTTPError) -> Response:
    """The answer to a refused WebSocket upgrade; websockets adds the Server header."""
    body = error.body()
    framing = [("Content-Length", str(len(body))), ("Connection", "close")]
    return Response(error.status, error.reason, Headers([*error.headers, *framing]), body)


def gigabytes(count: int) -> str:
    return f"{count / 2**30:.1f} GB"
