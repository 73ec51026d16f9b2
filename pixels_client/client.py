"""A blocking client for the edit channel, for plug-ins (not asyncio) and scripts.

    with Client("ws://127.0.0.1:7860", token=None) as client:
        info = client.connect()
        job = client.submit(EditRequest(source_png, [Layer(lake_png, lake_map_png)]))
        for event in job.events():
            ...                      # Queued, Started, Progress, then Result
        result = job.result()

One connection carries any number of jobs; a reader thread sorts the server's messages
by job. After the connection is lost, the next `connect` or `submit` reconnects.
"""

import itertools
import queue
import threading
import urllib.parse
from collections.abc import Iterator

from . import protocol
from .errors import (
    AuthError,
    ClientError,
    JobCancelled,
    JobError,
    ProtocolError,
    ServerUnavailable,
    VersionMismatch,
)
from .messages import (
    Cancelled,
    EditRequest,
    Error,
    Event,
    Progress,
    Queued,
    Result,
    ServerInfo,
    Started,
)
from .transport import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI, connect

CLIENT_NAME = "pixels-client/1"
LOST = "connection_lost"


class Job:
    """One submitted edit: its events in order, ending with Result, Cancelled or Error."""

    def __init__(self, client: "Client", ref: str):
        self.client, self.ref, self.id = client, ref, None
        self._events: queue.Queue[Event] = queue.Queue()
        self._answered = threading.Event()  # the server queued or refused it
        self._refusal: Error | None = None
        self.outcome: Event | None = None  # the last event: Result, Cancelled or Error

    def events(self, timeout: float | None = None) -> Iterator[Event]:
        """Yield events until the job ends; `timeout` bounds the wait for each one."""
        while self.outcome is None:
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                raise ServerUnavailable(f"no word from the server for {timeout} s") from None
            if isinstance(event, Result | Cancelled | Error):
                self.outcome = event
            yield event

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the end; raise JobError, JobCancelled or ServerUnavailable if it failed."""
        for _ in self.events(timeout):
            pass
        event = self.outcome
        if isinstance(event, Cancelled):
            raise JobCancelled(f"job {self.id} was cancelled")
        if isinstance(event, Error):
            if event.code == LOST:
                raise ServerUnavailable(event.message)
            raise JobError(event.code, event.message, event.field, event.job)
        return event

    def cancel(self) -> None:
        self.client.cancel(self.id)


class Client:
    """A connection to one PIXELS server; `url` is ws://HOST:PORT (or http://HOST:PORT)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0):
        self.url = edit_url(url)
        self.token, self.timeout = token, timeout
        self.info: ServerInfo | None = None
        self._ws = None
        self._lock = threading.Lock()  # one request's frames are never split by another's
        self._jobs: dict[str, Job] = {}  # by job id, and by ref until the id is known
        self._refs = itertools.count(1)

    def __enter__(self) -> "Client":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    @property
    def connected(self) -> bool:
        return self._ws is not None

    def connect(self) -> ServerInfo:
        """Open the connection and shake hands, unless already connected."""
        with self._lock:
            if self._ws is None:
                self._ws = self._open()
                threading.Thread(target=self._read, args=(self._ws,), daemon=True).start()
            return self.info

    handshake = connect

    def submit(self, request: EditRequest) -> Job:
        """Send an edit; returns once the server queued it (JobError if it refused)."""
        self.connect()
        job = Job(self, f"r{next(self._refs)}")
        names, frames = [protocol.SOURCE], [request.source]
        for layer in request.exemplars:
            names.append(protocol.EXEMPLAR)
            frames.append(layer.image)
            if layer.map is not None:
                names.append(protocol.MAP)
                frames.append(layer.map)
        if request.global_map is not None:
            names.append(protocol.GLOBAL_MAP)
            frames.append(request.global_map)
        message = {"type": "edit", "ref": job.ref, "params": request.params, "frames": names}
        self._jobs[job.ref] = job
        self._send(message, frames)
        if not job._answered.wait(self.timeout):
            raise ServerUnavailable(f"the server did not answer the edit in {self.timeout} s")
        if job._refusal is not None:
            job.result()  # raises the server's reason
        return job

    def edit(self, request: EditRequest, on_event=None) -> Result:
        """Submit and wait for the result, passing every event to `on_event`."""
        job = self.submit(request)
        for event in job.events():
            if on_event is not None:
                on_event(event)
        return job.result()

    def cancel(self, job_id: str) -> None:
        """Ask the server to cancel a queued or running job of this connection; the job
        then ends with Cancelled (or with its result, if it finished first)."""
        self._send({"type": "cancel", "job": job_id}, [])

    def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()

    def _open(self):
        headers = {protocol.TOKEN_HEADER: f"Bearer {self.token}"} if self.token else None
        try:
            ws = connect(
                self.url,
                additional_headers=headers,
                open_timeout=self.timeout,
                max_size=None,
                compression=None,
                user_agent_header=CLIENT_NAME,
            )
        except InvalidStatus as e:
            status = e.response.status_code
            body = e.response.body.decode("utf-8", "replace").strip()
            if status in (401, 403):
                raise AuthError(
                    f"the server at {self.url} refused the connection: {body}"
                ) from None
            raise ServerUnavailable(
                f"{self.url} answered HTTP {status}, not a PIXELS edit channel: {body}"
            ) from None
        except InvalidURI as e:
            raise ClientError(f"{e}. Give the server's address as ws://HOST:PORT.") from None
        except (OSError, TimeoutError, InvalidHandshake) as e:
            raise ServerUnavailable(
                f"no PIXELS server at {self.url} ({e}). Start one with `pixels serve`, "
                "or check the address."
            ) from None
        try:
            ws.send(protocol.dumps({"type": "hello", "protocol": protocol.PROTOCOL_VERSION}))
            reply = protocol.loads(ws.recv(timeout=self.timeout))
        except (ConnectionClosed, TimeoutError, ValueError) as e:
            ws.close()
            raise ServerUnavailable(f"the server at {self.url} did not shake hands ({e})") from None
        if reply["type"] == "error":
            ws.close()
            if reply.get("code") == protocol.VERSION_MISMATCH:
                raise VersionMismatch(reply.get("message", "protocol version mismatch"))
            raise ProtocolError(reply.get("message", "handshake refused"))
        fields = ("protocol", "server", "model", "limits", "capabilities")
        self.info = ServerInfo(**{name: reply.get(name) for name in fields})
        return ws

    def _send(self, message: dict, frames: list[bytes]) -> None:
        with self._lock:
            if self._ws is None:
                raise ServerUnavailable("not connected: the connection to the server was lost")
            try:
                self._ws.send(protocol.dumps(message))
                for frame in frames:
                    self._ws.send(frame)
            except ConnectionClosed as e:
                raise ServerUnavailable(f"the connection to the server was lost ({e})") from None

    def _read(self, ws) -> None:
        """Sort incoming messages by job until the connection ends; then end every job."""
        try:
            while True:
                message = protocol.loads(ws.recv())
                frames = [ws.recv() for _ in range(message.get("frames", 0))]
                self._dispatch(message, frames)
        except (ConnectionClosed, ValueError, TypeError) as e:
            reason = f"the connection to the server was lost ({e})"
        ws.close()
        with self._lock:
            if self._ws is ws:
                self._ws = None
        for key, job in list(self._jobs.items()):
            self._jobs.pop(key, None)
            job._events.put(Error(job.id, LOST, reason))
            job._answered.set()

    def _dispatch(self, message: dict, frames: list[bytes]) -> None:
        kind, job_id = message["type"], message.get("job")
        job = self._jobs.get(job_id) or self._jobs.get(message.get("ref"))
        if job is None:
            return  # a late message for a job that already ended here
        if job.id is None and job_id is not None:
            job.id = job_id
            self._jobs[job_id] = job
        event = to_event(kind, message, frames)
        if event is None:
            return
        if isinstance(event, Result | Cancelled | Error):
            self._jobs.pop(job.ref, None)
            self._jobs.pop(job.id, None)
            if job.id is None:
                job._refusal = event
        job._events.put(event)
        job._answered.set()


def to_event(kind: str, m: dict, frames: list[bytes]) -> Event | None:
    job = m.get("job")
    if kind == "queued":
        return Queued(job, m["position"])
    if kind == "started":
        return Started(job)
    if kind == "progress":
        return Progress(job, m["step"], m["total"], m["eta"], frames[0] if frames else None)
    if kind == "result":
        keys = ("seed", "region", "working_size", "steps_run", "timings", "random_weights")
        return Result(job, frames[0], **{k: m[k] for k in keys})
    if kind == "cancelled":
        return Cancelled(job)
    if kind == "error":
        return Error(job, m["code"], m["message"], m.get("field"))
    return None  # a message type from a newer server: ignored


def edit_url(url: str) -> str:
    """ws://host:port/v1/edit from what a user types: host:port, http://, ws://."""
    if "://" not in url:
        url = "ws://" + url
    parts = urllib.parse.urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else protocol.EDIT_PATH
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, "", ""))
