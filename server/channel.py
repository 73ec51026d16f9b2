"""One plug-in window's websocket: the handshake, its edit and cancel requests, and the
messages about its jobs.

Everything sent on a connection goes through its outbox and one sender task, so the
binary frames that follow a message are never split by another message, and messages
posted by the worker thread keep their order.
"""

import asyncio
import logging
import threading

from websockets.exceptions import ConnectionClosed

from pixels_client.protocol import (
    BAD_MESSAGE,
    HANDSHAKE_REQUIRED,
    PROTOCOL_VERSION,
    TOO_LARGE,
    UNKNOWN_JOB,
    VERSION_MISMATCH,
    dumps,
    loads,
)

from . import requests
from .errors import Refused
from .jobs import Job

log = logging.getLogger("pixels.server")
HELLO_TIMEOUT = 10.0


class Channel:
    def __init__(self, server, ws):
        self.server, self.ws = server, ws
        host, port = ws.remote_address[:2]
        self.peer = f"{host}:{port}"
        self.jobs: dict[str, Job] = {}  # this connection's unfinished jobs
        self.loop = asyncio.get_running_loop()
        self.outbox: asyncio.Queue = asyncio.Queue()
        self.closed = False

    def post(self, message: dict, frames: list[bytes] = ()) -> None:
        """Queue a message (and its frames) for this client; safe from any thread."""
        if self.closed:
            return
        if threading.get_ident() == self.server.loop_thread:
            self.outbox.put_nowait((message, frames))
        else:
            self.loop.call_soon_threadsafe(self.outbox.put_nowait, (message, frames))

    async def run(self) -> None:
        sender = asyncio.create_task(self.send_all())
        try:
            if await self.handshake():
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
            message, frames = await self.outbox.get()
            await self.ws.send(dumps(message))
            for frame in frames:
                await self.ws.send(frame)

    async def handshake(self) -> bool:
        """The client's hello; answers with the server's description, or refuses and closes."""
        try:
            message = loads(await asyncio.wait_for(self.ws.recv(), HELLO_TIMEOUT))
            if message["type"] != "hello":
                raise Refused(HANDSHAKE_REQUIRED, 'send {"type": "hello", "protocol": 1} first.')
            version = message.get("protocol")
            if type(version) is not int or version != PROTOCOL_VERSION:
                raise Refused(
                    VERSION_MISMATCH,
                    f"this server speaks protocol {PROTOCOL_VERSION}, the client "
                    f"{str(version)[:20]}. Update the plug-in or the server so "
                    "that they match.",
                    "protocol",
                )
        except (TimeoutError, ValueError, TypeError) as e:
            error = Refused(HANDSHAKE_REQUIRED, f"no valid hello ({str(e)[:80]}).")
            return await self.refuse(error)
        except Refused as e:
            return await self.refuse(e)
        self.post({"type": "welcome", **self.server.info()})
        return True

    async def refuse(self, error: Refused) -> bool:
        """Say why, then close: a client that cannot shake hands cannot go on."""
        await self.ws.send(dumps(error.as_message(job=None)))
        await self.ws.close(1008, error.code)
        return False

    async def serve(self) -> None:
        while True:
            data = await self.ws.recv()
            if isinstance(data, bytes):
                self.post(
                    Refused(BAD_MESSAGE, "a binary frame that no edit announced.").as_message(
                        job=None
                    )
                )
                continue
            try:
                message = loads(data)
            except (ValueError, TypeError) as e:
                self.post(
                    Refused(BAD_MESSAGE, f"not a JSON message ({str(e)[:80]}).").as_message(
                        job=None
                    )
                )
                continue
            if message["type"] == "edit":
                await self.edit(message)
            elif message["type"] == "cancel":
                self.cancel(message.get("job"))
            else:
                kind = message["type"][:40]
                self.post(
                    Refused(
                        BAD_MESSAGE,
                        f"unknown message type {kind!r}; this server takes edit and cancel.",
                    ).as_message(job=None)
                )

    async def edit(self, message: dict) -> None:
        """Read the announced frames, check everything, queue the job."""
        limits = self.server.config.limits
        names = message.get("frames")
        count = len(names) if isinstance(names, list) else 0
        ref = message.get("ref") if ref_ok(message) else None
        data = []
        for _ in range(min(count, requests.max_frames(limits))):
            frame = await self.ws.recv()
            if not isinstance(frame, bytes):  # that text message is dropped with the edit
                error = Refused(
                    BAD_MESSAGE,
                    f"frame {len(data) + 1} of {count} of the edit "
                    "was a text message; send the announced images first.",
                )
                self.post(error.as_message(job=None, ref=ref))
                return
            data.append(frame)
        try:
            requests.ref(message.get("ref"))
            if count > requests.max_frames(limits):
                raise Refused(
                    TOO_LARGE,
                    f"frames: {count} frames; at most {requests.max_frames(limits)}.",
                    "frames",
                )
            frames, canvas = requests.check_frames(names, data, limits)
            settings = requests.settings(message.get("params", {}), limits)
            job = Job(self, ref, settings, frames, canvas)
        except Refused as e:
            self.post(e.as_message(job=None, ref=ref))
            return
        self.jobs[job.id] = job  # before the worker can see it, and forget it
        try:
            self.server.submit(job)
        except Refused as e:
            self.jobs.pop(job.id)
            self.post(e.as_message(job=None, ref=ref))

    def cancel(self, job_id: object) -> None:
        job = self.jobs.get(job_id) if isinstance(job_id, str) else None
        if job is None:
            error = Refused(UNKNOWN_JOB, "no unfinished job of this connection has that id.", "job")
            self.post(error.as_message(job=job_id if isinstance(job_id, str) else None))
            return
        self.server.cancel(job)

    def forget(self, job: Job) -> None:
        self.jobs.pop(job.id, None)


def ref_ok(message: dict) -> bool:
    value = message.get("ref")
    return isinstance(value, str) and len(value) <= requests.MAX_REF_CHARS
