"""A blocking client for the edit channel, for plug-ins (not asyncio) and scripts.

    with Client("ws://127.0.0.1:7860", token=None) as client:
        welcome = client.connect()
        job = client.submit(EditRequest(source_png, [Layer(lake_png, lake_map_png)]))
        for event in job.events():
            ...                      # Queued, Started, Progress, then Result
        result = job.result()

One connection carries any number of jobs. It is an I/O shell around the contract's
ClientProtocol: a reader thread feeds it what the server sends and sorts the messages by
job. Whatever ends the connection (the server gone, or a message the protocol does not
allow) ends every pending job with an error, so no caller waits forever. websockets
answers the server's keepalive pings on its own thread, whatever the caller's thread is
doing. After the connection is lost, the next `connect` or `submit` reconnects.
"""

import contextlib
import itertools
import json
import queue
import threading
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator

from pixels_contract.messages import (
    EDIT_PATH,
    ENDINGS,
    KEEPALIVE_INTERVAL,
    KEEPALIVE_TIMEOUT,
    TOKEN_HEADER,
    VERSION_MISMATCH,
    Cancelled,
    EditRequest,
    Error,
    ProtocolError,
    Result,
    ServerMessage,
    Welcome,
)
from pixels_contract.protocol import ClientProtocol

from .errors import (
    AuthError,
    ClientError,
    JobCancelled,
    JobError,
    ProtocolViolation,
    ServerUnavailable,
    VersionMismatch,
)
from .transport import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI, connect

CLIENT_NAME = "pixels-client/2"
LOST = "connection_lost"  # this client's own codes for a job the connection took down
VIOLATION = "protocol_violation"


class Job:
    """One submitted edit: its events in order, ending with Result, Cancelled or Error."""

    def __init__(self, client: "Client", ref: str):
        self.client, self.ref, self.id = client, ref, None
        self._events: queue.Queue[ServerMessage] = queue.Queue()
        self._answered = threading.Event()  # the server queued or refused it
        self._refusal: Error | None = None
        self.outcome: ServerMessage | None = None  # the last event: Result, Cancelled or Error

    def events(self, timeout: float | None = None) -> Iterator[ServerMessage]:
        """Yield events until the job ends; `timeout` bounds the wait for each one."""
        while self.outcome is None:
            try:
                event = self._events.get(timeout=timeout)
            except queue.Empty:
                raise ServerUnavailable(f"no word from the server for {timeout} s") from None
            if isinstance(event, ENDINGS):
                self.outcome = event
            yield event

    def result(self, timeout: float | None = None) -> Result:
        """Wait for the end; raise JobError, JobCancelled, ServerUnavailable or
        ProtocolViolation if it did not give a result."""
        for _ in self.events(timeout):
            pass
        event = self.outcome
        if isinstance(event, Cancelled):
            raise JobCancelled(f"job {self.id} was cancelled")
        if isinstance(event, Error):
            if event.code == LOST:
                raise ServerUnavailable(event.message)
            if event.code == VIOLATION:
                raise ProtocolViolation(event.message)
            raise JobError(event.code, event.message, event.field, event.job)
        return event

    def cancel(self) -> None:
        self.client.cancel(self.id)

    def end(self, event: ServerMessage) -> None:
        self._events.put(event)
        self._answered.set()


class Client:
    """A connection to one PIXELS server; `url` is ws://HOST:PORT (or http://HOST:PORT)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 10.0):
        self.url = edit_url(url)
        self.token, self.timeout = token, timeout
        self.welcome: Welcome | None = None
        self._ws = None
        self._protocol: ClientProtocol | None = None
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

    def connect(self) -> Welcome:
        """Open the connection and shake hands, unless already connected."""
        with self._lock:
            if self._ws is None:
                self._ws, self._protocol = self._open()
                threading.Thread(target=self._read, args=(self._ws,), daemon=True).start()
            return self.welcome

    def submit(self, request: EditRequest, want: str = "edit") -> Job:
        """Send an edit; returns once the server queued it (JobError if it refused).
        want="map" asks for the edit map the edit would use instead: the job's Result
        then holds a grey PNG of it on the canvas (white keeps), made without the model."""
        self.connect()
        job = Job(self, f"r{next(self._refs)}")
        self._jobs[job.ref] = job
        try:
            self._send(lambda protocol: protocol.edit(request, job.ref, want))
        except BaseException:
            self._jobs.pop(job.ref, None)
            raise
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
        then ends with Cancelled (or with its result, if that was already on its way)."""
        self._send(lambda protocol: protocol.cancel(job_id))

    # --- the server's models, over HTTP on the same address -------------------------------

    def models(self) -> dict:
        """GET /v1/models: {"current", "builtin", "aliases", "load"}, for a model menu."""
        return self._http("GET", "/v1/models")

    def load_model(self, name: str, device: str = "auto", dtype: str = "auto") -> dict:
        """Ask the server to load (or switch to) a model; returns the load's state, which
        `load_state` then follows ("waiting", "loading", "ready" or "failed")."""
        query = urllib.parse.urlencode({"name": name, "device": device, "dtype": dtype})
        return self._http("POST", f"/v1/models/load?{query}")

    def load_state(self) -> dict:
        return self._http("GET", "/v1/models/load")

    def _http(self, method: str, path: str) -> dict:
        parts = urllib.parse.urlsplit(self.url)
        scheme = "https" if parts.scheme == "wss" else "http"
        headers = {TOKEN_HEADER: f"Bearer {self.token}"} if self.token else {}
        request = urllib.request.Request(
            f"{scheme}://{parts.netloc}{path}", method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                return json.loads(reply.read())
        except urllib.error.HTTPError as e:
            raise refused(self.url, e.code, e.read()) from None
        except (OSError, ValueError) as e:
            raise ServerUnavailable(f"no PIXELS server answers at {self.url} ({why(e)}).") from None

    def close(self) -> None:
        ws, self._ws = self._ws, None
        if ws is not None:
            ws.close()

    def _open(self):
        headers = {TOKEN_HEADER: f"Bearer {self.token}"} if self.token else None
        try:
            ws = connect(
                self.url,
                additional_headers=headers,
                open_timeout=self.timeout,
                max_size=None,
                compression=None,
                user_agent_header=CLIENT_NAME,
                ping_interval=KEEPALIVE_INTERVAL,
                ping_timeout=KEEPALIVE_TIMEOUT,
            )
        except InvalidStatus as e:
            raise refused(self.url, e.response.status_code, e.response.body) from None
        except InvalidURI as e:
            raise ClientError(f"{e}. Give the server's address as ws://HOST:PORT.") from None
        except (OSError, TimeoutError, InvalidHandshake) as e:
            raise ServerUnavailable(f"no PIXELS server answers at {self.url} ({why(e)}).") from None
        protocol = ClientProtocol()
        try:
            for data in protocol.hello():
                ws.send(data)
            while not (events := receive(ws, protocol, self.timeout)):
                pass
        except (ConnectionClosed, TimeoutError, ProtocolError) as e:
            ws.close()
            raise ServerUnavailable(f"the server at {self.url} did not shake hands ({e})") from None
        if isinstance(events[0], Error):
            ws.close()
            if events[0].code == VERSION_MISMATCH:
                raise VersionMismatch(events[0].message)
            raise ProtocolViolation(events[0].message)
        self.welcome = events[0]
        return ws, protocol

    def _send(self, build) -> None:
        """Send what `build(protocol)` gives, under the lock: its frames stay together."""
        with self._lock:
            if self._ws is None:
                raise ServerUnavailable("not connected: the connection to the server was lost")
            try:
                for data in build(self._protocol):
                    self._ws.send(data)
            except ConnectionClosed as e:
                raise ServerUnavailable(f"the connection to the server was lost ({e})") from None

    def _read(self, ws) -> None:
        """Sort incoming messages by job until the connection ends; then end every job."""
        protocol = self._protocol
        try:
            while True:
                for event in receive(ws, protocol):
                    self._dispatch(event)
        except ConnectionClosed as e:
            code, reason = LOST, f"the connection to the server was lost ({e})"
        except Exception as e:  # ProtocolError, or a bug: never leave a caller waiting
            code = VIOLATION
            reason = (
                f"the server sent a message this plug-in does not understand ({e}). Update "
                "the plug-in and the server to the same version."
            )
        ws.close()
        with self._lock:
            if self._ws is ws:
                self._ws = None
        for key, job in list(self._jobs.items()):
            self._jobs.pop(key, None)
            job.end(Error(code, reason, job=job.id))

    def _dispatch(self, event: ServerMessage) -> None:
        job_id, ref = getattr(event, "job", None), getattr(event, "ref", None)
        job = self._jobs.get(job_id) or self._jobs.get(ref)
        if job is None:
            return  # a late message for a job that already ended here, or the welcome
        if job.id is None and job_id is not None:
            job.id = job_id
            self._jobs[job_id] = job
        if isinstance(event, ENDINGS):
            self._jobs.pop(job.ref, None)
            self._jobs.pop(job.id, None)
            if job.id is None:
                job._refusal = event
        job.end(event)


def receive(ws, protocol: ClientProtocol, timeout: float | None = None) -> list:
    """The server's next message through the protocol: its events (none while the
    images a message announced are still coming)."""
    protocol.receive(ws.recv(timeout=timeout))
    return protocol.events_received()


def refused(url: str, status: int, body: bytes) -> ClientError:
    """The error for an HTTP error answer (a JSON error body, or text)."""
    text, code, field = body.decode("utf-8", "replace").strip(), None, None
    with contextlib.suppress(ValueError, KeyError, TypeError, AttributeError):
        error = json.loads(text)
        text, code, field = error["message"], error.get("code"), error.get("field")
    if status in (401, 403):
        return AuthError(f"the server at {url} refused the connection: {text}")
    if code is not None and status < 500:
        return JobError(code, text, field)
    return ServerUnavailable(f"{url} answered HTTP {status}, not a PIXELS edit channel: {text}")


def why(error: Exception) -> str:
    """A failed connection in a few words, without errno numbers."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, OSError) and error.strerror:
        return error.strerror.lower()
    return str(error) or type(error).__name__


def edit_url(url: str) -> str:
    """ws://host:port/v1/edit from what a user types: host:port, http://, ws://."""
    if "://" not in url:
        url = "ws://" + url
    parts = urllib.parse.urlsplit(url)
    scheme = {"http": "ws", "https": "wss"}.get(parts.scheme, parts.scheme)
    path = parts.path if parts.path not in ("", "/") else EDIT_PATH
    return urllib.parse.urlunsplit((scheme, parts.netloc, path, "", ""))
