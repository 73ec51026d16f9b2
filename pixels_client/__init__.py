"""The PIXELS Studio client: plug-ins, the CLI and the tests talk to `pixels serve`
through it. Standard library plus websockets only (vendored for GIMP and Krita)."""

from . import png, protocol
from .client import Client, Job
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
    Layer,
    Progress,
    Queued,
    Result,
    ServerInfo,
    Started,
)

__all__ = [
    "AuthError",
    "Cancelled",
    "Client",
    "ClientError",
    "EditRequest",
    "Error",
    "Job",
    "JobCancelled",
    "JobError",
    "Layer",
    "Progress",
    "ProtocolError",
    "Queued",
    "Result",
    "ServerInfo",
    "ServerUnavailable",
    "Started",
    "VersionMismatch",
    "png",
    "protocol",
]
