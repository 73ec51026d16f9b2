"""The PIXELS Studio client: plug-ins, the CLI and the tests talk to `pixels serve`
through it. Standard library plus websockets only (vendored for GIMP and Krita); what an
edit is and how it travels is the contract's (pixels_contract), re-exported here."""

from pixels_contract import png
from pixels_contract.messages import (
    Cancelled,
    EditRequest,
    Error,
    Layer,
    Progress,
    Queued,
    Result,
    Started,
    Welcome,
)

from .client import Client, Job
from .errors import (
    AuthError,
    ClientError,
    JobCancelled,
    JobError,
    ProtocolViolation,
    ServerUnavailable,
    VersionMismatch,
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
    "ProtocolViolation",
    "Queued",
    "Result",
    "ServerUnavailable",
    "Started",
    "VersionMismatch",
    "Welcome",
    "png",
]
