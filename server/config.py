"""What `pixels serve` was asked to do, checked before anything starts."""

import ipaddress
from dataclasses import dataclass, field

from pixels_contract import schema
from pixels_contract.messages import DEFAULT_HOST, DEFAULT_PORT, Limits
from pixels_engine.errors import PixelsError


@dataclass(frozen=True)
class Config:
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    model: str = "tiny"
    device: str = "auto"
    dtype: str = "auto"
    offload: bool = False  # components on the CPU until they run (cards smaller than the model)
    compile: str = "off"  # the denoiser compiled: off, blocks or full (pixels_engine.compiled)
    token: str | None = None
    limits: Limits = field(default_factory=Limits)
    preview_interval: float = 0.2  # seconds between preview images of one job

    def validate(self) -> None:
        if not is_loopback(self.host) and not self.token:
            raise PixelsError(
                f"{self.host} lets other machines reach the server: give it a token "
                "(--token or the PIXELS_TOKEN environment variable) that clients must send.",
                "host",
            )
        if not 0 <= self.port <= 65535:
            raise PixelsError(f"{self.port}: must be 0 to 65535 (0 picks a free one)", "port")
        limits = self.limits
        at_least_one = ("queue_size", "max_pixels", "max_exemplars", "max_frame_bytes")
        for name in at_least_one:
            if getattr(limits, name) < 1:
                raise PixelsError(f"{getattr(limits, name)}: must be 1 or more", name)
        steps = schema.BY_NAME["steps"]
        if not steps.minimum <= limits.max_steps <= steps.maximum:
            raise PixelsError(f"must be {steps.minimum:g} to {steps.maximum:g}", "max_steps")
        above_zero = {
            "max_job_memory": limits.max_job_bytes,
            "frame_timeout": limits.frame_timeout,
            "max_upload_memory": limits.max_upload_bytes,
            "max_send_memory": limits.max_send_bytes,
        }
        for name, value in above_zero.items():
            if value <= 0:
                raise PixelsError("must be above 0", name)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def bracketed(host: str) -> str:
    """A host as a URL or a Host header writes it: an IPv6 address in brackets."""
    return f"[{host}]" if ":" in host else host
