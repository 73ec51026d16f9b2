"""One port, two protocols: every connection's first request is read here, with h11.

websockets' own parser reads WebSocket upgrades only: a request with a body, for one,
it drops without an answer. So `Connection` (serve's `create_connection`) reads the
head first, bounded in size and time. A WebSocket upgrade then goes on to websockets,
which shakes hands as usual; any other request is read whole (its body bounded), passed
to `serve_http` off the event loop, and answered through h11, with one Content-Length
and no body after HEAD; then the connection closes.

h11 checks the syntax of the head and `check_head` what h11 lets through (a header that
must be single sent twice, equal Content-Lengths included, Content-Length beside
Transfer-Encoding, bare LF). Upgrades get the same checks, so websockets never sees a
request it would drop without an answer.
"""

import asyncio
import contextlib
import io
import logging
import re
import sys
import urllib.parse
from dataclasses import dataclass
from http import HTTPStatus

import h11
from websockets.asyncio.server import ServerConnection

from pixels_contract.messages import (
    BAD_REQUEST,
    INTERNAL_ERROR,
    TIMEOUT,
    TOO_LARGE,
)

from .refusals import HTTPError

log = logging.getLogger("pixels.server")

MAX_HEAD_BYTES = 8 * 1024  # request line and headers (websockets reads lines of 8 KiB)
MAX_HEADERS = 100  # websockets reads 128
MAX_BODY_BYTES = 64 * 1024  # a models/load request is a few hundred bytes
READ_LIMIT = MAX_HEAD_BYTES + 2 * MAX_BODY_BYTES  # then reading stops: one request is all
REQUEST_TIMEOUT = 10.0  # seconds from connecting to the end of the request
LINGER = 2.0  # seconds to read and drop what a client still sends after its answer
OPEN_TIMEOUT = 30.0  # websockets' open_timeout: the whole exchange, or the handshake
SINGLE = ("host", "content-length", "transfer-encoding", "authorization", "origin", "upgrade")
NUMBER = re.compile(rb"[0-9]{1,18}")


@dataclass
class Request:
    """A plain HTTP request, read whole. `headers` has lower-case names; the SINGLE ones
    appear once, others repeated are joined with ", "."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    peer: str
    port: int  # the server's, which the request came in on

    @property
    def path(self) -> str:
        return split_target(self.target)[0]

    @property
    def query(self) -> str:
        return split_target(self.target)[1]


@dataclass
class Answer:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def of(cls, error: HTTPError) -> "Answer":
        return cls(error.status, error.headers, error.body())


class Gone(Exception):
    """The client closed the connection before its request was complete."""


class Connection(ServerConnection):
    """A connection on the server's port (serve's `create_connection`); `serve_http`
    answers a plain HTTP request, in a worker thread."""

    def __init__(self, *args, serve_http, **kwargs):
        super().__init__(*args, **kwargs)
        self.serve_http = serve_http
        self.http = h11.Connection(h11.SERVER, max_incomplete_event_size=MAX_HEAD_BYTES)
        self.received: bytearray | None = bytearray()  # for websockets, if it upgrades
        self.bytes_read = 0
        self.arrived = asyncio.Event()
        self.upgraded = False  # websockets reads from here on
        self.answered = False  # what comes after the answer is dropped
        self.method = b""  # of the request, once read

    def data_received(self, data: bytes) -> None:
        if self.upgraded:
            super().data_received(data)
            return
        if self.answered:
            return
        self.bytes_read += len(data)
        if self.bytes_read > READ_LIMIT:
            self.transport.pause_reading()
        if self.received is not None:
            self.received += data
        self.http.receive_data(data)
        self.arrived.set()

    def eof_received(self) -> bool | None:
        if self.upgraded:
            return super().eof_received()
        if self.answered:
            return None  # the transport closes
        self.http.receive_data(b"")
        self.arrived.set()
        return True  # keep the socket open for the answer, which closes it

    def connection_lost(self, exc: Exception | None) -> None:
        super().connection_lost(exc)
        self.arrived.set()

    async def handshake(self, *args, **kwargs) -> None:
        """Read the first request; let websockets shake hands on a WebSocket upgrade (with
        serve's arguments), or answer the request and close."""
        try:
            upgrade = await self.read_and_answer()
        except Exception:  # a bug: serve would drop the connection without a word
            log.exception("HTTP exchange failed")
            raise
        if upgrade:
            self.upgraded = True
            self.transport.resume_reading()
            super().data_received(bytes(self.received))
            await super().handshake(*args, **kwargs)

    async def read_and_answer(self) -> bool:
        """Answer the first request and close, unless it is a WebSocket upgrade (True)."""
        try:
            request = await asyncio.wait_for(self.read_request(), REQUEST_TIMEOUT)
        except Gone:
            self.transport.close()
            return False
        except HTTPError as e:
            answer = Answer.of(e)
        except asyncio.TimeoutError:
            message = f"the request did not arrive within {REQUEST_TIMEOUT:g} s."
            answer = Answer.of(HTTPError(408, TIMEOUT, message))
        else:
            if request is None:
                return True
            answer = await self.answer(request)
        self.write_answer(answer)
        if not self.http.trailing_data[1]:  # the client may still be sending
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self.connection_lost_waiter), LINGER)
        self.transport.close()
        await self.connection_lost_waiter
        return False

    async def read_request(self) -> Request | None:
        """The request, with its body; None for a WebSocket upgrade (its head is read)."""
        event = await self.next_event()
        if isinstance(event, h11.ConnectionClosed):
            raise Gone
        self.method = event.method
        check_head(self.received, event)
        headers = header_dict(event.headers)
        if is_upgrade(event.method, headers):
            if "transfer-encoding" in headers or headers.get("content-length", "0") != "0":
                raise HTTPError(400, BAD_REQUEST, "a WebSocket upgrade request has no body.")
            if self.http.trailing_data[1]:  # the client stopped sending: no WebSocket then
                raise Gone
            return None
        self.received = None  # a plain request: h11 reads the rest
        body = await self.read_body(headers)
        peer = self.remote_address[0] if self.remote_address else ""
        target = event.target.decode("ascii")
        port = self.local_address[1]
        return Request(event.method.decode("ascii"), target, headers, body, peer, port)

    async def read_body(self, headers: dict[str, str]) -> bytes:
        if int(headers.get("content-length", "0")) > MAX_BODY_BYTES:
            raise body_too_large()
        if self.http.they_are_waiting_for_100_continue:
            go_on = h11.InformationalResponse(status_code=100, headers=[])
            self.transport.write(self.http.send(go_on))
        body = bytearray()
        while not isinstance(event := await self.next_event(), h11.EndOfMessage):
            body += event.data
            if len(body) > MAX_BODY_BYTES:
                raise body_too_large()
        return bytes(body)

    async def next_event(self):
        """h11's next event, waiting for the data it needs."""
        while True:
            try:
                event = self.http.next_event()
            except h11.RemoteProtocolError as e:
                if e.error_status_hint == 431:
                    raise head_too_large() from None
                raise HTTPError(400, BAD_REQUEST, f"malformed request: {e}.") from None
            if event is not h11.NEED_DATA:
                return event
            if self.connection_lost_waiter.done():
                raise Gone
            self.arrived.clear()
            await self.arrived.wait()

    async def answer(self, request: Request) -> Answer:
        try:
            return await asyncio.to_thread(self.serve_http, request)
        except HTTPError as e:
            return Answer.of(e)
        except Exception:  # a bug: the log has it, the client a 500
            log.exception("the answer to %s %s failed", request.method, request.target[:100])
            message = "the server failed to answer; its log says why."
            return Answer.of(HTTPError(500, INTERNAL_ERROR, message))

    def write_answer(self, answer: Answer) -> None:
        """Write `answer` through h11 (no body after HEAD: it has GET's headers), then end
        this side of the connection. Reading goes on, dropping what comes: closing with
        unread bytes would reset the connection, and the client could lose the answer."""
        framing = ("content-length", "transfer-encoding", "connection")
        headers = [(k, v) for k, v in answer.headers if k.lower() not in framing]
        headers += [("Content-Length", str(len(answer.body))), ("Connection", "close")]
        reason = HTTPStatus(answer.status).phrase
        response = h11.Response(status_code=answer.status, headers=headers, reason=reason)
        data = self.http.send(response)
        if self.method != b"HEAD":
            data += self.http.send(h11.Data(data=answer.body))
        data += self.http.send(h11.EndOfMessage())
        self.transport.write(data)
        self.transport.write_eof()
        self.answered = True
        self.transport.resume_reading()


def check_head(received: bytes, event: h11.Request) -> None:
    """HTTPError for what h11 accepts in the head at the start of `received` but this
    server does not: a head over its size, a line ended without CR or folded onto the
    next, a header of SINGLE sent twice (h11 merges equal Content-Lengths), a
    Content-Length that is not one number or that comes with Transfer-Encoding, another
    HTTP version than 1.x, a target that is not a path."""
    end = received.find(b"\r\n\r\n")
    if end > MAX_HEAD_BYTES:
        raise head_too_large()
    lines = bytes(received[:end]).split(b"\r\n")[1:]
    if end < 0 or any(b"\n" in line or line[:1] in (b" ", b"\t") for line in lines):
        raise HTTPError(400, BAD_REQUEST, "malformed request: end each line with CRLF, unfolded.")
    if len(lines) > MAX_HEADERS:
        raise HTTPError(431, TOO_LARGE, f"{len(lines)} headers; at most {MAX_HEADERS}.")
    fields = [line.split(b":", 1) for line in lines]
    fields = [(name.strip().lower().decode("ascii"), value.strip()) for name, value in fields]
    names = [name for name, _ in fields]
    for name in SINGLE:
        if (count := names.count(name)) > 1:
            raise HTTPError(400, BAD_REQUEST, f"the header {name} appears {count} times.")
    lengths = [value for name, value in fields if name == "content-length"]
    if lengths and not NUMBER.fullmatch(lengths[0]):
        raise HTTPError(400, BAD_REQUEST, "Content-Length must be one number.")
    if lengths and "transfer-encoding" in names:
        raise HTTPError(400, BAD_REQUEST, "send Content-Length or Transfer-Encoding, not both.")
    if event.http_version not in (b"1.0", b"1.1"):
        raise HTTPError(400, BAD_REQUEST, "this server speaks HTTP/1.1 (and 1.0).")
    if not event.target.startswith(b"/"):
        raise HTTPError(400, BAD_REQUEST, "the request target must be a path: GET /v1/info.")


def header_dict(headers) -> dict[str, str]:
    """h11's headers by lower-case name; a repeated one joined with ", " (RFC 9110 5.3)."""
    out: dict[str, str] = {}
    for name, value in headers:
        key, text = name.decode("ascii"), value.decode("latin-1")
        out[key] = f"{out[key]}, {text}" if key in out else text
    return out


def is_upgrade(method: bytes, headers: dict[str, str]) -> bool:
    tokens = headers.get("upgrade", "").lower().split(",")
    return method == b"GET" and "websocket" in (token.strip() for token in tokens)


def split_target(target: str) -> tuple[str, str]:
    """(path, query) of a request target: the path percent-decoded as WSGI has it."""
    url = urllib.parse.urlsplit(target)
    return urllib.parse.unquote_to_bytes(url.path).decode("latin-1"), url.query


def head_too_large() -> HTTPError:
    return HTTPError(431, TOO_LARGE, f"the request head is over {MAX_HEAD_BYTES} bytes.")


def body_too_large() -> HTTPError:
    return HTTPError(413, TOO_LARGE, f"the request body is over {MAX_BODY_BYTES} bytes.")


def call_wsgi(app, request: Request) -> Answer:
    """Run a WSGI application on `request` as a WSGI server does (PEP 3333). HEAD runs
    as GET: its answer has GET's headers, and `Connection.send` leaves the body out. The
    body is passed as read, de-chunked, with its length (werkzeug reads no body of a
    request that says chunked without the server saying it ends the input)."""
    environ = {
        "REQUEST_METHOD": "GET" if request.method == "HEAD" else request.method,
        "SCRIPT_NAME": "",
        "PATH_INFO": request.path,
        "QUERY_STRING": request.query,
        "CONTENT_TYPE": request.headers.get("content-type", ""),
        "CONTENT_LENGTH": str(len(request.body)),
        "SERVER_NAME": "pixels",
        "SERVER_PORT": str(request.port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": request.peer,
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(request.body),
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    framing = ("content-type", "content-length", "transfer-encoding")  # the body is read whole
    for name, value in request.headers.items():
        if "_" not in name and name not in framing:
            environ["HTTP_" + name.upper().replace("-", "_")] = value
    started, written = [], []

    def start_response(status: str, headers: list, exc_info=None):
        started[:] = [int(status.split()[0]), headers]
        return written.append

    chunks = app(environ, start_response)
    try:
        body = b"".join([*written, *chunks])
    finally:
        if hasattr(chunks, "close"):
            chunks.close()
    return Answer(started[0], started[1], body)
