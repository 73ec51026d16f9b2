"""What goes wrong, in Krita's words: a parameter is named by its control's label, an
image by its layer, and a missing server by what to do about it. Never a CLI flag, a
protocol path or an errno. Standard library and the client only.
"""

import re

from pixels_client import (
    AuthError,
    ClientError,
    JobError,
    ProtocolViolation,
    ServerUnavailable,
    VersionMismatch,
)
from pixels_contract import schema

START_SERVER = 'start it with the command "pixels serve"'
ADVICE = {  # the server's error codes that a user can act on
    "queue_full": "The server's queue is full: wait for the edits before yours, then "
    "generate again.",
    "model_unavailable": "The server has no model loaded: choose one under Server > Model "
    "and press Load.",
    "out_of_memory": "The GPU ran out of memory, even in low-memory mode: edit a smaller "
    "area or pick a smaller model.",
    "shutting_down": f"The PIXELS server is shutting down: {START_SERVER} again.",
}
FIELD_PREFIX = re.compile(r"^(params(\.\w+)?|frames(\[\d+\])?)\s*:\s*")


class DocumentError(Exception):
    """The document cannot be edited as asked; the message tells the artist why and
    what to do."""


def invalid(error: schema.Invalid) -> str:
    """A parameter's value the schema refused, named by its control's label."""
    param = schema.BY_NAME.get(error.field)
    label = param.label if param is not None else "The settings"
    return f"{label}: {error.text}."


def describe(error: Exception, address: str, frames: tuple = (), token: bool = True) -> str:
    """A message for the docker. `address` is the server's as the user typed it;
    `frames` names the request's images in order ("the exemplar 'Lake'", ...); `token`:
    whether one was sent."""
    if isinstance(error, DocumentError):
        return str(error)
    if isinstance(error, schema.Invalid):
        return invalid(error)
    if isinstance(error, ServerUnavailable):
        if "lost" in str(error):
            return f"The connection to the PIXELS server at {address} was lost: {START_SERVER}."
        return f"The PIXELS server is not running at {address}: {START_SERVER}."
    if isinstance(error, AuthError):
        if not token:
            return (
                f"The PIXELS server at {address} needs a token: enter the one it was started "
                "with under Server > Token."
            )
        return (
            f"The PIXELS server at {address} refused the token: enter the one it was started "
            "with under Server > Token."
        )
    if isinstance(error, VersionMismatch):
        return (
            "The server and this plug-in speak different versions of the protocol: install "
            'the plug-in that comes with your server (the command "pixels install-plugin krita").'
        )
    if isinstance(error, ProtocolViolation):
        return (
            "The server sent something this plug-in does not understand: update the plug-in "
            "and the server to the same version."
        )
    if isinstance(error, JobError):
        return job_error(error, frames)
    if isinstance(error, ClientError):
        return f"The server address {address!r} is not valid: give it as 127.0.0.1:7860."
    return f"Unexpected error, please report it: {type(error).__name__}: {error}"


def job_error(error: JobError, frames: tuple) -> str:
    """A refused or failed edit: the part at fault in the docker's words, then the
    server's sentence without the protocol's path."""
    if error.code in ADVICE:
        return ADVICE[error.code]
    text = FIELD_PREFIX.sub("", str(error)).rstrip(".")
    field = error.field or ""
    if field.startswith("params."):
        param = schema.BY_NAME.get(field[len("params.") :])
        if param is not None:
            return f"{param.label}: {text}."
    frame = re.fullmatch(r"frames\[(\d+)\]", field)
    if frame and int(frame.group(1)) < len(frames):
        name = frames[int(frame.group(1))]
        return f"{name[:1].upper()}{name[1:]}: {text}."
    return f"The edit failed: {text}."
