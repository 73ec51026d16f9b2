"""The edit channel's two ends as sans-I/O state machines, in the manner of the
websockets library: feed one what arrived (a text or binary WebSocket message, or the
passing of time), then read the events it made and the messages it wants sent. There
are no sockets, threads or clocks in here: the server's channel and the client are thin
I/O layers around these classes, and the tests drive them directly.

Frame order, both ways: a message that announces images is followed by exactly that many
binary messages, before any other message. Every check a request needs happens here, at
submit, before any work: the roles and order of the images, their sizes (from the PNG
header), every parameter against the schema, and the time the announced images take.
"""

from dataclasses import dataclass

from . import png, schema
from .messages import (
    BAD_MESSAGE,
    EXEMPLAR,
    GLOBAL_MAP,
    HANDSHAKE_REQUIRED,
    HELLO_TIMEOUT,
    INVALID_FIELD,
    MAP,
    PROTOCOL_VERSION,
    SERVER_MESSAGES,
    SOURCE,
    TIMEOUT,
    TOO_LARGE,
    UNKNOWN_JOB,
    VERSION_MISMATCH,
    Cancel,
    EditRequest,
    Error,
    Hello,
    Limits,
    ProtocolError,
    Refusal,
    ServerMessage,
    Welcome,
    dumps,
    loads,
)

REQUESTS = ("edit", "map")  # messages that carry images: an edit, or the map it would use
MAX_REF_CHARS = 64
MAX_JOB_CHARS = 64
CLOSE_POLICY = 1008  # WebSocket close code after a failed handshake
Outgoing = list[str | bytes]


def serialize(message) -> Outgoing:
    """A message and the images it carries, as the WebSocket messages to send in order."""
    images = message.frames() if hasattr(message, "frames") else []
    return [dumps(message.to_wire()), *images]


# --- the server's end ---------------------------------------------------------------------


@dataclass
class Frame:
    """One image of an edit request."""

    role: str  # for people: "source", "exemplar 2", "map of exemplar 2", "global map"
    kind: str  # SOURCE, EXEMPLAR, MAP or GLOBAL_MAP
    exemplar: int  # 1-based for exemplars and their maps, else 0
    data: bytes


@dataclass
class HelloReceived:
    """The client shook hands; the server answers with its Welcome."""


@dataclass
class EditSubmitted:
    """An edit (or map) request that passed every check, ready to be queued."""

    ref: str | None
    frames: list[Frame]
    params: dict  # complete and checked (schema.parse)
    canvas: tuple[int, int]  # width, height
    want: str = "edit"  # "map": only the edit map the edit would use, no model

    @property
    def exemplars(self) -> int:
        return sum(frame.kind == EXEMPLAR for frame in self.frames)


@dataclass
class CancelRequested:
    job: str


class ServerProtocol:
    """One client's connection, as the server sees it: hello, then edits and cancels.

    `receive(data, now)` takes each WebSocket message, `expire(now)` the passing of time
    (call it once `now` reaches `deadline`); `events_received()` then gives the requests
    to act on and `data_to_send()` the protocol's own answers (errors). `close` is set
    when the connection must end (a failed handshake), as (code, reason).
    """

    def __init__(self, limits: Limits, now: float):
        self.limits = limits
        # The serving model's family (schema.FAMILIES), which says what parameters an
        # edit takes and their defaults; None while no model serves. Its server sets it.
        self.family: str | None = None
        self.open = False  # after a valid hello
        self.deadline: float | None = now + HELLO_TIMEOUT
        self.close: tuple[int, str] | None = None
        self._edit: dict | None = None  # an edit message whose images are still coming
        self._expected = 0
        self._images: list[bytes] = []
        self._skipped = 0  # images of a refused edit still to come, to be dropped
        self._events: list = []
        self._out: Outgoing = []

    def events_received(self) -> list:
        events, self._events = self._events, []
        return events

    def data_to_send(self) -> Outgoing:
        out, self._out = self._out, []
        return out

    def refuse(self, refusal: Refusal, ref: str | None = None) -> None:
        self._out += serialize(refusal.error(ref=ref))

    def receive(self, data: str | bytes, now: float) -> None:
        if self.close is not None:
            return
        if not self.open:
            self.handshake(data)
        elif self._edit is not None:
            self.image(data, now)
        elif isinstance(data, bytes) and self._skipped:
            self._skipped -= 1
        elif isinstance(data, bytes):
            self.refuse(Refusal(BAD_MESSAGE, "a binary frame that no edit announced."))
        else:
            self._skipped = 0
            self.message(data, now)

    @property
    def held(self) -> int:
        """Bytes of the images received for the edit still arriving."""
        return sum(map(len, self._images))

    @property
    def expecting_image(self) -> bool:
        """Whether the next binary message is an image the protocol will hold."""
        return self._edit is not None

    def refuse_edit(self, refusal: Refusal) -> None:
        """Refuse the edit whose images are arriving (its server cannot hold them): the
        images it holds are dropped, and those still to come are read and dropped, so
        the connection stays in step (a text message ends them)."""
        to_come, ref = self._expected - len(self._images), ref_of(self._edit)
        self.drop_edit()
        self._skipped = to_come
        self.refuse(refusal, ref)

    def expire(self, now: float) -> None:
        """Time passed: a missing hello ends the connection, missing images the edit."""
        if self.deadline is None or now < self.deadline or self.close is not None:
            return
        if not self.open:
            refusal = Refusal(HANDSHAKE_REQUIRED, f"no hello within {HELLO_TIMEOUT:g} s.")
            self.refuse(refusal)
            self.close = (CLOSE_POLICY, HANDSHAKE_REQUIRED)
        else:
            got, expected, ref = len(self._images), self._expected, ref_of(self._edit)
            self.drop_edit()
            text = (
                f"the edit announced {expected} images but {got} arrived within "
                f"{self.limits.frame_timeout:g} s of each other; send every announced image "
                "right after the edit message."
            )
            self.refuse(Refusal(TIMEOUT, text, "frames"), ref)
        self.deadline = None

    def handshake(self, data: str | bytes) -> None:
        try:
            if isinstance(data, bytes):
                raise ProtocolError("a binary frame")
            message = loads(data)
            if message["type"] != "hello":
                raise Refusal(HANDSHAKE_REQUIRED, 'send {"type": "hello", "protocol": 2} first.')
            version = message.get("protocol")
            if type(version) is not int or version != PROTOCOL_VERSION:
                raise Refusal(
                    VERSION_MISMATCH,
                    f"this server speaks protocol {PROTOCOL_VERSION}, the client "
                    f"{schema.shown(version)}. Update the plug-in or the server so that "
                    "they match.",
                    "protocol",
                )
        except ProtocolError as e:
            self.refuse(Refusal(HANDSHAKE_REQUIRED, f"no valid hello ({e})."))
            self.close = (CLOSE_POLICY, HANDSHAKE_REQUIRED)
        except Refusal as e:
            self.refuse(e)
            self.close = (CLOSE_POLICY, e.code)
        else:
            self.open, self.deadline = True, None
            self._events.append(HelloReceived())

    def message(self, text: str, now: float) -> None:
        try:
            message = loads(text)
        except ProtocolError as e:
            self.refuse(Refusal(e.code, f"{e}."))
            return
        kind = message["type"]
        if kind in REQUESTS:
            self.start_edit(message, now)
        elif kind == "cancel":
            self.cancel(message.get("job"))
        else:
            text = (
                f"unknown message type {schema.shown(kind)}; this server takes edit, map and "
                "cancel."
            )
            self.refuse(Refusal(BAD_MESSAGE, text))

    def cancel(self, job: object) -> None:
        if isinstance(job, str) and 0 < len(job) <= MAX_JOB_CHARS:
            self._events.append(CancelRequested(job))
        else:
            text = f"job: {schema.shown(job)} is not a job id (a string from a queued answer)."
            self._out += serialize(Error(UNKNOWN_JOB, text, field="job"))

    def start_edit(self, message: dict, now: float) -> None:
        """Wait for the announced images (at most max_frames: the rest are stray)."""
        names = message.get("frames")
        expected = min(len(names), self.limits.max_frames) if isinstance(names, list) else 0
        self._edit, self._expected, self._images = message, expected, []
        if expected:
            self.deadline = now + self.limits.frame_timeout
        else:
            self.finish_edit()

    def image(self, data: str | bytes, now: float) -> None:
        if isinstance(data, str):  # that text message is dropped with the edit
            got, ref = len(self._images), ref_of(self._edit)
            text = (
                f"image {got + 1} of {self._expected} of the edit was a text message; send "
                "the announced images first."
            )
            self.drop_edit()
            self.refuse(Refusal(BAD_MESSAGE, text, f"frames[{got}]"), ref)
            return
        self._images.append(data)
        self.deadline = now + self.limits.frame_timeout
        if len(self._images) == self._expected:
            self.finish_edit()

    def drop_edit(self) -> None:
        self._edit, self._expected, self._images, self.deadline = None, 0, [], None

    def finish_edit(self) -> None:
        message, images = self._edit, self._images
        self.drop_edit()
        ref = ref_of(message)
        try:
            if message.get("ref") is not None and ref is None:
                raise Refusal(
                    INVALID_FIELD,
                    f"ref: must be a string of at most {MAX_REF_CHARS} characters.",
                    "ref",
                )
            frames, canvas = check_frames(message.get("frames"), images, self.limits)
            params = check_params(message.get("params", {}), self.limits, self.family)
        except Refusal as e:
            self.refuse(e, ref)
            return
        self._events.append(EditSubmitted(ref, frames, params, canvas, message["type"]))


def ref_of(message: dict | None) -> str | None:
    """The client's own name for an edit, echoed in the answers, when it is a valid one."""
    ref = None if message is None else message.get("ref")
    return ref if isinstance(ref, str) and len(ref) <= MAX_REF_CHARS else None


def check_params(raw: object, limits: Limits, family: str | None = None) -> dict:
    """The schema's checks for the model's family, then this server's bound on steps."""
    try:
        params = schema.parse(raw, family)
    except schema.Invalid as e:
        path = "params" if e.field is None else f"params.{e.field}"
        raise Refusal(e.code, f"{path}: {e.text}.", path) from None
    if params["steps"] > limits.max_steps:
        raise Refusal(
            TOO_LARGE,
            f"params.steps: {params['steps']} is over this server's limit of {limits.max_steps}.",
            "params.steps",
        )
    return params


def frame_roles(names: object, limits: Limits) -> list[tuple[str, str, int]]:
    """(role, kind, exemplar) for each announced image; the order is part of the protocol."""
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise Refusal(
            INVALID_FIELD,
            'frames: must be a list of role names, e.g. ["source", "exemplar", "map"].',
            "frames",
        )
    if len(names) > limits.max_frames:
        text = f"frames: {len(names)} images; at most {limits.max_frames}."
        raise Refusal(TOO_LARGE, text, "frames")
    roles, exemplars = [], 0
    for i, name in enumerate(names):
        path = f"frames[{i}]"
        if (name == SOURCE) != (i == 0):
            raise Refusal(INVALID_FIELD, f"{path}: the source comes first, once.", path)
        if name == EXEMPLAR:
            exemplars += 1
            roles.append((f"exemplar {exemplars}", EXEMPLAR, exemplars))
        elif name == MAP:
            if names[i - 1] != EXEMPLAR:
                text = (
                    f"{path}: a map follows its exemplar (use {GLOBAL_MAP!r} for the map of "
                    "every exemplar)."
                )
                raise Refusal(INVALID_FIELD, text, path)
            roles.append((f"map of exemplar {exemplars}", MAP, exemplars))
        elif name == GLOBAL_MAP:
            if i != len(names) - 1:
                raise Refusal(INVALID_FIELD, f"{path}: the global map comes last, once.", path)
            roles.append(("global map", GLOBAL_MAP, 0))
        elif name == SOURCE:
            roles.append(("source", SOURCE, 0))
        else:
            text = (
                f"{path}: unknown role {schema.shown(name)}; the roles are {SOURCE}, "
                f"{EXEMPLAR}, {MAP} and {GLOBAL_MAP}."
            )
            raise Refusal(INVALID_FIELD, text, path)
    if exemplars > limits.max_exemplars:
        text = f"frames: {exemplars} exemplars; this server takes at most {limits.max_exemplars}."
        raise Refusal(TOO_LARGE, text, "frames")
    if len(roles) < 2:
        raise Refusal(
            INVALID_FIELD,
            "frames: nothing to edit: send at least one exemplar, or a global map that says "
            "where the prompt may change the picture.",
            "frames",
        )
    return roles


def check_frames(names: object, images: list[bytes], limits: Limits):
    """The images with their roles, and the canvas size: every image a PNG of the
    source's size, within max_pixels (read from the header: nothing is inflated)."""
    frames = [
        Frame(role, kind, k, data)
        for (role, kind, k), data in zip(frame_roles(names, limits), images, strict=True)
    ]
    canvas = None
    for i, frame in enumerate(frames):
        path = f"frames[{i}]"
        try:
            size = png.size(frame.data)
        except ValueError as e:
            text = f"{path}: the {frame.role} is not a PNG image ({e}). Send images as PNG bytes."
            raise Refusal(INVALID_FIELD, text, path) from None
        width, height = size
        if width < 1 or height < 1:
            text = f"{path}: the {frame.role} is a PNG of {width}x{height} pixels: empty."
            raise Refusal(INVALID_FIELD, text, path)
        if width * height > limits.max_pixels:
            raise Refusal(
                TOO_LARGE,
                f"{path}: the {frame.role} is {width}x{height}, over this server's limit of "
                f"{limits.max_pixels} pixels. Scale the canvas down, or start the server "
                "with a larger --max-pixels.",
                path,
            )
        canvas = canvas or size
        if size != canvas:
            raise Refusal(
                INVALID_FIELD,
                f"{path}: the {frame.role} is {width}x{height} but the source is "
                f"{canvas[0]}x{canvas[1]}. Every layer must be on the source's canvas.",
                path,
            )
    return frames, canvas


# --- the client's end ---------------------------------------------------------------------

FRAMES = {"progress": (0, 1), "result": (1,)}  # images each server message may carry
MAX_SERVER_FRAMES = 8  # what a message of a newer server may announce, to be skipped


class ClientProtocol:
    """One connection, as a client sees it: `hello()`, `edit(...)` and `cancel(...)` give
    what to send; `receive(data)` takes each message from the server and raises
    ProtocolError on anything the protocol does not allow (a missing field, an image
    nobody announced, a text where an image belongs); `events_received()` gives the
    server's messages, images attached."""

    def __init__(self):
        self.welcome: Welcome | None = None
        self._message: dict | None = None  # a message whose images are still coming
        self._expected = 0
        self._images: list[bytes] = []
        self._events: list[ServerMessage] = []

    def hello(self) -> Outgoing:
        return serialize(Hello())

    def edit(self, request: EditRequest, ref: str | None = None, want: str = "edit") -> Outgoing:
        """The edit message (or, with want="map", the request for the map the edit would
        use) and its images, as given: the server checks them (a front end checks the
        parameters first with schema.parse, to name them in its own words)."""
        images = (data for _, data in request.images())
        return [dumps(request.to_wire(ref, want)), *images]

    def cancel(self, job: str) -> Outgoing:
        return serialize(Cancel(job))

    def events_received(self) -> list[ServerMessage]:
        events, self._events = self._events, []
        return events

    def receive(self, data: str | bytes) -> None:
        if self._message is not None:
            if isinstance(data, str):
                raise ProtocolError(
                    f"a text message where image {len(self._images) + 1} of "
                    f"{self._expected} of a {self._message['type']} message belongs"
                )
            self._images.append(data)
            if len(self._images) == self._expected:
                self.finish()
            return
        if isinstance(data, bytes):
            raise ProtocolError("an image that no message announced")
        message = loads(data)
        kind, count = message["type"], message.get("frames", 0)
        if type(count) is not int or not 0 <= count <= MAX_SERVER_FRAMES:
            raise ProtocolError(f"a {kind} message announcing {schema.shown(count)} images")
        if kind in SERVER_MESSAGES and count not in FRAMES.get(kind, (0,)):
            raise ProtocolError(f"a {kind} message announcing {count} images")
        self._message, self._expected, self._images = message, count, []
        if not count:
            self.finish()

    def finish(self) -> None:
        message, images = self._message, self._images
        self._message, self._expected, self._images = None, 0, []
        kind = SERVER_MESSAGES.get(message["type"])
        if kind is None:
            return  # a message type from a newer server: ignored, its images skipped
        if self.welcome is None and kind not in (Welcome, Error):
            raise ProtocolError(f"a {message['type']} message before the welcome")
        event = kind.from_wire(message, images)
        if isinstance(event, Welcome):
            self.welcome = event
        self._events.append(event)
