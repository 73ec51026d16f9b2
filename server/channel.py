"""One plug-in window's WebSocket: the I/O around the contract's ServerProtocol.

It feeds the protocol each message as it arrives (and the passing of time, for a hello
or announced images that do not come), sends the protocol's own answers, and turns its
events into work: the welcome, jobs for the queue, cancels. Everything sent on a
connection goes through its outbox and one sender task, in the order it was posted from
any thread, so the images that follow a message are never split by another message.
"""

import asyncio
import contextlib
import logging
import time

from websockets.exceptions import ConnectionClosed

from pixels_contract.messages import UNKNOWN_JOB, Error, Refusal
from pixels_contract.protocol import (
    CancelRequested,
    EditSubmitted,
    HelloReceived,
    ServerProtocol,
    serialize,
)

from .config import is_loopback
from .jobs import Job

log = logging.getLogger("pixels.server")
CLOSE_WAIT = 5.0  # seconds to send a refusal before closing the connection


class Channel:
    def __init__(self, server, ws):
        self.server, self.ws = server, ws
        host, port = ws.remote_address[:2]
        self.peer = f"{host}:{port}"
        self.local = is_loopback(host)
        self.jobs: dict[str, Job] = {}  # this connection's unfinished jobs
        self.loop = asyncio.get_running_loop()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.protocol = ServerProtocol(server.config.limits, time.monotonic())
        self.closed = False

    def post(self, message) -> None:
        """Queue a message (with its images) for this client; safe from any thread, and
        the order of posts is the order of sending, whichever threads they came from."""
        if not self.closed:
            self.loop.call_soon_threadsafe(self.outbox.put_nowait, serialize(message))

    async def run(self) -> None:
        sender = asyncio.create_task(self.send_all())
        try:
            await self.serve()
        except ConnectionClosed:
            pass
        finally:
            self.closed = True
            for job in list(self.jobs.values()):
                self.server.cancel(job)
            sender.cancel()

    async def send_all(self) -> None:
        while True:
            for data in await self.outbox.get():
                await self.ws.send(data)
            self.outbox.task_done()

    async def serve(self) -> None:
        """Until the connection ends, or the protocol ends it (a failed handshake)."""
        protocol = self.protocol
        while protocol.close is None:
            wait = None if protocol.deadline is None else protocol.deadline - time.monotonic()
            try:
                data = await asyncio.wait_for(self.ws.recv(), wait)
            except TimeoutError:
                protocol.expire(time.monotonic())
            else:
                protocol.family = self.server.family()
                protocol.receive(data, time.monotonic())
            for data in protocol.data_to_send():
                self.outbox.put_nowait([data])
            for event in protocol.events_received():
                self.act(event)
        with contextlib.suppress(TimeoutError):  # the refusal goes out before the close
            await asyncio.wait_for(self.outbox.join(), CLOSE_WAIT)
        await self.ws.close(*protocol.close)

    def act(self, event) -> None:
        if isinstance(event, HelloReceived):
            self.post(self.server.welcome())
        elif isinstance(event, EditSubmitted):
            self.edit(event)
        elif isinstance(event, CancelRequested):
            self.cancel(event.job)

    def edit(self, request: EditSubmitted) -> None:
        try:
            job = self.server.submit(self, request)
        except Refusal as e:
            self.post(e.error(ref=request.ref))
            return
        log.debug("job %s queued for %s", job.id, self.peer)

    def cancel(self, job_id: str) -> None:
        """Every cancel is answered: by the job's `cancelled`, or, when this connection
        has no such job still running or waiting, by `unknown_job` (a job that had just
        ended sent its last message first). A repeated cancel of a job still stopping is
        answered at once, without the job's id: an error that names a job ends it."""
        job = self.jobs.get(job_id)
        if job is not None and job.cancel.is_set():
            text = (
                f"job {job_id} is being cancelled already; its cancelled answers the first cancel."
            )
            self.post(Error(UNKNOWN_JOB, text, field="job"))
        elif job is None or not self.server.cancel(job):
            text = "no unfinished job of this connection has that id."
            self.post(Error(UNKNOWN_JOB, text, job=job_id, field="job"))

    def forget(self, job: Job) -> None:
        self.jobs.pop(job.id, None)
