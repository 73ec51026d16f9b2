"""What `pixels serve` was asked to do, checked before anything starts."""

import ipaddress
from dataclasses import asdict, dataclass, field

from pixels_client.protocol import DEFAULT_HOST, DEFAULT_PORT
from pixels_engine import PixelsError


@dataclass(frozen=True)
class Limits:
    """Announced in the handshake; a request over any of them is refused, naming it."""

    max_frame_bytes: int = 96 * 2**20  # one binary frame (a PNG); larger ones close the link
    max_pixels: int = 4096 * 4096  # per image, checked from the PNG header before decoding
    max_exemplars: int = 8
    max_steps: int = 150
    max_prompt_chars: int = 2000
    queue_size: int = 16  # jobs waiting, all clients together

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    model: str = "tiny"
    device: str = "auto"
    dtype: str = "auto"
    token: str | None = None
    limits: Limits = field(default_factory=Limits)
    preview_interval: float = 0.2  # seconds between preview images of one job

    def validate(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise PixelsError(
                f"--host {self.host} lets other machines reach the server: give it a token "
                "(--token or the PIXELS_TOKEN environment variable) that clients must send."
            )
        if not 0 <= self.port <= 65535:
            raise PixelsError(f"--port {self.port}: must be 0 to 65535 (0 picks a free one)")
        if self.limits.queue_size < 1:
            raise PixelsError(f"--queue-size {self.limits.queue_size}: must be 1 or more")


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
