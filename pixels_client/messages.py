"""What a client sends and what it gets back, as plain data (images are PNG bytes)."""

from dataclasses import dataclass, field


@dataclass
class Layer:
    """An exemplar layer on the source canvas, with its own edit map if it has one."""

    image: bytes
    map: bytes | None = None


@dataclass
class EditRequest:
    """The images of one edit and its parameters (names and defaults: protocol.PARAMS)."""

    source: bytes
    exemplars: list[Layer] = field(default_factory=list)
    global_map: bytes | None = None
    params: dict = field(default_factory=dict)


@dataclass
class ServerInfo:
    """The server's side of the handshake."""

    protocol: int
    server: str
    model: dict  # name, state, device, dtype, random_weights, native_size
    limits: dict  # max_frame_bytes, max_pixels, max_exemplars, max_steps, queue_size
    capabilities: list[str]


@dataclass
class Queued:
    job: str
    position: int  # 1: next to run


@dataclass
class Started:
    job: str


@dataclass
class Progress:
    job: str
    step: int  # 1-based
    total: int
    eta: float  # seconds
    preview: bytes | None  # small RGB PNG of the current estimate, when one was sent


@dataclass
class Result:
    job: str
    image: bytes  # RGBA PNG on the source canvas
    seed: int
    region: list[int] | None  # x0, y0, x1, y1 of the area that may have changed
    working_size: list[int] | None
    steps_run: int
    timings: dict[str, float]
    random_weights: bool


@dataclass
class Cancelled:
    job: str


@dataclass
class Error:
    job: str | None
    code: str
    message: str
    field: str | None = None


Event = Queued | Started | Progress | Result | Cancelled | Error
