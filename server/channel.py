"""One plug-in window's WebSocket: the I/O around the contract's ServerProtocol.

It feeds the protocol each message as it arrives (and the passing of time, for a hello
or announced images that do not come), sends the protocol's own answers, and turns its
events into work: the welcome, jobs for the queue, cancels. Everything sent on a
connection goes through its outbox and one sender task, in the order it was posted from
any thread, so the images that follow a message are never split by another message.

A client that does not read would make the outbox grow with every message of its jobs,
and websockets' own keepalive never notices (its ping waits for the same full socket),
so the sender drops a connection that takes nothing for KEEPALIVE_TIMEOUT, and `post`
one whose unsent messages pass the server's `max_send_bytes`.
"""

import asyncio
import contextlib
import logging
import time

from websockets.exceptions import ConnectionClosed

from pixels_contract.messages import (
    KEEPALIVE_TIMEOUT,
    QUEUE_FULL,
    TOO_LARGE,
    UNKNOWN_JOB,
    Error,
    Refusal,
)
from pixels_contract.protocol import (
    CancelRequested,
    EditSubmitted,
    HelloReceived,
    Outgoing,
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
        self.unsent = 0  # bytes in the outbox
        self.protocol = ServerProtocol(server.config.limits, time.monotonic())
        self.closed = False

    def post(self, message) -> None:
        """Queue a message (with its images) for this client; safe from any thread, and
        the order of posts is the order of sending, whichever threads they came from."""
        if not self.closed:
            self.loop.call_soon_threadsafe(self.queue, serialize(message))

    def queue(self, data: Outgoing) -> None:
        """Into the outbox (on the loop), unless the client has left more than the
        server's `max_send_bytes` unread there: then the connection is dropped. One
        message of any size may always wait."""
        size = sum(map(len, data))
        limit = self.server.config.limits.max_send_bytes
        if self.unsent and self.unsent + size > limit:
            self.drop(f"{self.unsent + size} bytes of messages unread; at most {limit}")
        elif not self.closed:
            self.unsent += size
            self.outbox.put_nowait(data)

    def drop(self, why: str) -> None:
        """End a connection that does not read: closing it would wait for the same full
        socket, so it is aborted, and its jobs are cancelled as for any closed connection."""
        log.warning("dropping %s: %s", self.peer, why)
        self.closed = True
        self.ws.transport.abort()

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
        with contextlib.suppress(ConnectionClosed):
            while True:
                data = await self.outbox.get()
                for frame in data:
                    await self.send(frame)
                self.unsent -= sum(map(len, data))
                self.outbox.task_done()

    async def send(self, frame: str | bytes) -> None:
        """Send one frame; drop the connection when the client takes none of what
        waits in the socket for KEEPALIVE_TIMEOUT (websockets waits for it forever)."""
        transport = self.ws.transport
        sending = asyncio.ensure_future(self.ws.send(frame))
        try:
            waiting = transport.get_write_buffer_size() + len(frame)
            while not (await asyncio.wait({sending}, timeout=KEEPALIVE_TIMEOUT))[0]:
                if transport.get_write_buffer_size() >= waiting:
                    self.drop(f"it took nothing sent to it for {KEEPALIVE_TIMEOUT:g} s")
                    break
                waiting = transport.get_write_buffer_size()
            await sending
        finally:
            # The sender cancelled with the connection: its send goes too, and the
            # ConnectionClosed it may end with is this method's, not an unread one.
            sending.cancel()
            sending.add_done_callback(lambda task: task.cancelled() or task.exception())

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
                if isinstance(data, bytes) and protocol.expecting_image:
                    self.admit(len(data))
                protocol.receive(data, time.monotonic())
            for data in protocol.data_to_send():
                self.queue([data])
            for event in protocol.events_received():
                self.act(event)
        with contextlib.suppress(TimeoutError):  # the refusal goes out before the close
            await asyncio.wait_for(self.outbox.join(), CLOSE_WAIT)
        await self.ws.close(*protocol.close)

    def admit(self, size: int) -> None:
        """Refuse the edit whose image of `size` bytes just came when the images of the
        edits still arriving, on every connection together, would pass the server's
        `max_upload_bytes` (clients that stop halfway must not hold memory outside every
        budget until their frame timeout)."""
        limit = self.server.config.limits.max_upload_bytes
        most = f"{limit // 2**20} MB"
        if self.protocol.held + size > limit:
            text = (
                f"the images of this edit pass {most}, the most this server receives at "
                "once. Send smaller images, or start the server with a larger "
                "--max-upload-memory."
            )
            self.protocol.refuse_edit(Refusal(TOO_LARGE, text, "frames"))
        elif self.server.receiving() + size > limit:
            text = (
                f"the server is receiving {most} of images for other edits, the most it "
                "holds at once. Try again in a moment."
            )
            self.protocol.refuse_edit(Refusal(QUEUE_FULL, text, "frames"))

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
