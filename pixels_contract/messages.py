"""The edit channel's messages as dataclasses, each with its wire form.

Text frames carry one JSON object with a string ``type``; a message that carries images
says how many in ``frames`` and exactly that many binary frames (PNG files) follow it.
`to_wire` gives the JSON object, `from_wire` reads one back and raises ProtocolError
naming what is missing or wrong, so that a peer's mistake is never a KeyError deep in a
reader thread. docs/protocol.md describes them for people.
"""

import json
from dataclasses import asdict, dataclass, field, fields

PROTOCOL_VERSION = 2
EDIT_PATH = "/v1/edit"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
# The names of this machine a client may give: a server there is local (bytes cost nothing
# to move; a token is not required), and a browser page from one of them is not foreign.
LOCAL_HOSTS = ("127.0.0.1", "localhost", "[::1]")
TOKEN_HEADER = "Authorization"  # "Bearer <token>"

MAX_TEXT_BYTES = 64 * 1024  # one JSON message (a prompt is at most 2000 characters)
MAX_DEPTH = 4  # nesting of a JSON message: {"params": {"levels": [...]}} is 3
HELLO_TIMEOUT = 10.0  # seconds from connecting to the client's hello
KEEPALIVE_INTERVAL = 20.0  # seconds between the server's WebSocket pings
KEEPALIVE_TIMEOUT = 20.0  # seconds a pong may take before the server drops the link

# Roles of the binary frames of an edit request, in the order they are sent: the source
# first, each exemplar followed by its own map if it has one, the global map last.
SOURCE, EXEMPLAR, MAP, GLOBAL_MAP = "source", "exemplar", "map", "global_map"

# Error codes (``error`` messages and HTTP error bodies).
BAD_MESSAGE = "bad_message"  # not JSON, unknown type, frames out of order
HANDSHAKE_REQUIRED = "handshake_required"
VERSION_MISMATCH = "version_mismatch"
INVALID_FIELD = "invalid_field"  # a parameter or an image; `field` names it
TOO_LARGE = "too_large"  # over a limit the server announced (HTTP 413, 431: a request)
TIMEOUT = "timeout"  # announced images, or an HTTP request (408), did not arrive in time
QUEUE_FULL = "queue_full"
UNKNOWN_JOB = "unknown_job"
MODEL_UNAVAILABLE = "model_unavailable"
OUT_OF_MEMORY = "out_of_memory"
EDIT_FAILED = "edit_failed"
SHUTTING_DOWN = "shutting_down"
BUSY = "busy"  # HTTP: a model load is already under way
UNAUTHORIZED = "unauthorized"  # HTTP 401: no token, or the wrong one
FORBIDDEN = "forbidden"  # HTTP 403: a web page's Origin, or a foreign Host
NOT_FOUND = "not_found"
METHOD_NOT_ALLOWED = "method_not_allowed"  # HTTP 405; the Allow header lists the methods
BAD_REQUEST = "bad_request"  # HTTP: a malformed request
INTERNAL_ERROR = "internal_error"  # HTTP 500: a bug in the server, logged there


class ProtocolError(ValueError):
    """A message that breaks the protocol: its text says how, for the user and the log;
    `code` is the error that answers it (too_large for a message over the size bound,
    which is a limit, not a malformed message)."""

    def __init__(self, text: str, code: str = BAD_MESSAGE):
        super().__init__(text)
        self.code = code


class Refusal(Exception):
    """A request the server refuses: the protocol's error code, a sentence for the user,
    and the field at fault (``params.grow``, ``frames[2]``), if one is."""

    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def error(self, job: str | None = None, ref: str | None = None) -> "Error":
        return Error(self.code, self.message, job=job, ref=ref, field=self.field)


@dataclass(frozen=True)
class Limits:
    """What one server accepts, announced in its welcome; a request over any is refused
    with ``too_large``, naming the limit."""

    max_frame_bytes: int = 96 * 2**20  # one binary frame (a PNG); larger close the link
    max_pixels: int = 4096 * 4096  # per image, read from the PNG header before decoding
    max_exemplars: int = 8
    max_steps: int = 150  # this server's bound; the schema's own is higher
    queue_size: int = 16  # jobs waiting, all clients together
    max_job_bytes: int = 6 * 2**30  # the memory one job may need, estimated at submit
    frame_timeout: float = 30.0  # seconds for each announced image to arrive
    # Memory outside the jobs' estimates: the images of edits still arriving, on every
    # connection together (an edit that would pass it is refused), and the messages one
    # connection has not read yet (over this it is dropped).
    max_upload_bytes: int = 2 * 2**30
    max_send_bytes: int = 256 * 2**20

    @property
    def max_frames(self) -> int:
        return 2 + 2 * self.max_exemplars

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_wire(cls, data: object) -> "Limits":
        """The limits a server announced; unknown keys (a newer server's) are ignored."""
        if not isinstance(data, dict):
            raise ProtocolError(f"welcome: limits must be an object, not {type(data).__name__}")
        known = {f.name: f.type for f in fields(cls)}
        values = {}
        for name, value in data.items():
            if name in known:
                if not isinstance(value, int | float) or isinstance(value, bool):
                    raise ProtocolError(f"welcome: limits.{name} must be a number")
                values[name] = value
        return cls(**values)


# --- JSON ------------------------------------------------------------------------------


def dumps(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def loads(text: str | bytes) -> dict:
    """One message: a JSON object with a string ``type``, at most MAX_TEXT_BYTES long
    and MAX_DEPTH deep, without repeated keys. ProtocolError otherwise."""
    size = len(text) if isinstance(text, bytes) or len(text) > MAX_TEXT_BYTES else utf8_size(text)
    if size > MAX_TEXT_BYTES:
        raise ProtocolError(f"a message of {size} bytes; at most {MAX_TEXT_BYTES}", TOO_LARGE)
    try:
        message = json.loads(text, object_pairs_hook=unique_keys)
    except RecursionError:
        raise ProtocolError(f"JSON nested too deeply; at most {MAX_DEPTH} levels") from None
    except (ValueError, TypeError) as e:  # TypeError: bytes that are not UTF-8 text
        raise ProtocolError(f"not JSON ({str(e)[:80]})") from None
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ProtocolError('a message must be a JSON object with a string "type"')
    if depth(message) > MAX_DEPTH:
        raise ProtocolError(f"JSON nested too deeply; at most {MAX_DEPTH} levels")
    return message


def utf8_size(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def unique_keys(pairs: list) -> dict:
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"the key {key[:40]!r} appears twice")
        out[key] = value
    return out


def depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(depth, value), default=0)
    return 0


# --- reading fields strictly ------------------------------------------------------------


def get(message: dict, name: str, kinds, optional: bool = False):
    """message[name] when it has one of `kinds`; ProtocolError naming it otherwise."""
    if name not in message:
        if optional:
            return None
        raise ProtocolError(f"{message['type']} message without {name!r}")
    value = message[name]
    if value is None and optional:
        return None
    kinds = kinds if isinstance(kinds, tuple) else (kinds,)
    bad_bool = isinstance(value, bool) and bool not in kinds
    if not isinstance(value, kinds) or bad_bool:
        raise ProtocolError(f"{message['type']} message: {name!r} is {type(value).__name__}")
    return value


def numbers(message: dict, name: str, count: int, optional: bool = False) -> list | None:
    value = get(message, name, list, optional)
    if value is not None and (
        len(value) != count
        or not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value)
    ):
        raise ProtocolError(f"{message['type']} message: {name!r} must be {count} numbers")
    return value


# --- client to server -------------------------------------------------------------------


@dataclass
class Hello:
    protocol: int = PROTOCOL_VERSION

    def to_wire(self) -> dict:
        return {"type": "hello", "protocol": self.protocol}


@dataclass
class Layer:
    """An exemplar layer on the source canvas, with its own edit map if it has one."""

    image: bytes
    map: bytes | None = None


@dataclass
class EditRequest:
    """The images of one edit (PNG bytes, all on the source's canvas) and its
    parameters (schema names; absent ones take the schema's defaults)."""

    source: bytes
    exemplars: list[Layer] = field(default_factory=list)
    global_map: bytes | None = None
    params: dict = field(default_factory=dict)

    def images(self) -> list[tuple[str, bytes]]:
        """(role, PNG bytes) in the order they are sent."""
        out = [(SOURCE, self.source)]
        for layer in self.exemplars:
            out.append((EXEMPLAR, layer.image))
            if layer.map is not None:
                out.append((MAP, layer.map))
        if self.global_map is not None:
            out.append((GLOBAL_MAP, self.global_map))
        return out

    def to_wire(self, ref: str | None, want: str = "edit") -> dict:
        """`want` is the message type: "edit" for the edit, "map" for the map it would use."""
        roles = [role for role, _ in self.images()]
        return {"type": want, "ref": ref, "frames": roles, "params": self.params}


@dataclass
class Cancel:
    job: str

    def to_wire(self) -> dict:
        return {"type": "cancel", "job": self.job}


# --- server to client -------------------------------------------------------------------


@dataclass
class Welcome:
    """The server's side of the handshake."""

    protocol: int
    server: str
    model: dict  # name, state, device, dtype, random_weights, native_size, low_memory
    limits: Limits
    capabilities: list[str]

    def to_wire(self) -> dict:
        return {
            "type": "welcome",
            "protocol": self.protocol,
            "server": self.server,
            "model": self.model,
            "limits": self.limits.as_dict(),
            "capabilities": self.capabilities,
        }

    @classmethod
    def from_wire(cls, m: dict, frames: list[bytes]) -> "Welcome":
        return cls(
            get(m, "protocol", int),
            get(m, "server", str),
            get(m, "model", dict),
            Limits.from_wire(get(m, "limits", dict)),
            get(m, "capabilities", list),
        )


@dataclass
class Queued:
    job: str
    position: int  # 1: next to run
    ref: str | None = None  # on the first answer to an edit only

    def to_wire(self) -> dict:
        ref = {} if self.ref is None else {"ref": self.ref}
        return {"type": "queued", "job": self.job, **ref, "position": self.position}

    @classmethod
    def from_wire(cls, m: dict, frames: list[bytes]) -> "Queued":
        return cls(get(m, "job", str), get(m, "position", int), get(m, "ref", str, True))


@dataclass
class Started:
    job: str

    def to_wire(self) -> dict:
        return {"type": "started", "job": self.job}

    @classmethod
    def from_wire(cls, m: dict, frames: list[bytes]) -> "Started":
        return cls(get(m, "job", str))


@dataclass
class Progress:
    job: str
    step: int  # 1-based
    total: int
    eta: float  # seconds
    preview: bytes | None = None  # a small RGB PNG of the current estimate

    def to_wire(self) -> dict:
        frames = 0 if self.preview is None else 1
        message = {"type": "progress", "job": self.job, "step": self.step, "total": self.total}
        return {**message, "eta": round(self.eta, 3), "frames": frames}

    def frames(self) -> list[bytes]:
        return [] if self.preview is None else [self.preview]

    @classmethod
    def from_wire(cls, m: dict, frames: list[bytes]) -> "Progress":
        eta = get(m, "eta", (int, float))
        return cls(get(m, "job", str), get(m, "step", int), get(m, "total", int), eta, *frames)


@dataclass
class Result:
    job: str
    image: bytes  # RGBA PNG on the source canvas (grey: the edit map, for a map request)
    seed: int
    region: list[int] | None  # x0, y0, x1, y1 of the area that may have changed
    working_size: list[int] | None
    steps_run: int
    timings: dict[str, float]
    random_weights: bool
    low_memory: bool = False  # made in low-memory mode (after an out-of-memory retry)

    def to_wire(self) -> dict:
        return {
            "type": "result",
            "job": self.job,
            "seed": self.seed,
            "region": self.region,
            "working_size": self.working_size,
            "steps_run": self.steps_run,
            "timings": {k: round(v, 4) for k, v in self.timings.items()},
            "random_weights": self.random_weights,
            "low_memory": self.low_memory,
            "frames": 1,
        }

    def frames(self) -> list[bytes]:
        return [self.image]

    @classmethod
    def from_wire(cls, m: dict, frames: list[bytes]) -> "Result":
        if len(frames) != 1:
            raise ProtocolError(f"result message with {len(frames)} images; it carries 1")
        timings = get(m, "timings", dict)
        if not all(isinstance(v, int | float) for v in timings.values()):
            raise ProtocolError("result message: timings must be numbers")
        return cls(
            get(m, "job", str),
            frames[0],
            get(m, "seed", int),
            numbers(m, "region", 4, optional=True),
            numbers(m, "working_size", 2, optional=True),
            get(m, "steps_run", int),
            timings,
            get(m, "random_weights", bool),
            bool(get(m, "low_memory", bool, optional=True)),
        )


@dataclass
class Cancelled:
    job: str

    def to_wire(self) -> dict:
        return {"type": "cancelled", "job": self.job}

    @classmethod
    def from_wire(cls, m: dict, frames: list[bytes]) -> "Cancelled":
        return cls(get(m, "job", str))


@dataclass
class Error:
    code: str
    message: str
    job: str | None = None
    ref: str | None = None  # the edit's own ref, when it answers an edit
    field: str | None = None  # the part at fault: params.steps, frames[2], job, ...

    def to_wire(self) -> dict:
        return {
            "type": "error",
            "job": self.job,
            "ref": self.ref,
            "code": self.code,
            "field": self.field,
            "message": self.message,
        }

    @classmethod
    def from_wire(cls, m: dict, frames: list[bytes]) -> "Error":
        return cls(
            get(m, "code", str),
            get(m, "message", str),
            get(m, "job", str, True),
            get(m, "ref", str, True),
            get(m, "field", str, True),
        )


SERVER_MESSAGES = {
    "welcome": Welcome,
    "queued": Queued,
    "started": Started,
    "progress": Progress,
    "result": Result,
    "cancelled": Cancelled,
    "error": Error,
}
ServerMessage = Welcome | Queued | Started | Progress | Result | Cancelled | Error
ENDINGS = (Result, Cancelled, Error)  # a job's last message is one of these
