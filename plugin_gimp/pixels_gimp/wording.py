"""What the plug-in tells the artist when an edit cannot be made, in GIMP's words: the
label of the control at fault (never a CLI flag or a protocol path), the server by its
address, and what to do. No GIMP here, so the host Python tests it.
"""

import re
import urllib.parse

from pixels_client.client import edit_url
from pixels_contract import schema

FIELD = re.compile(r"^(params\.(\w+)|frames\[(\d+)\]):\s*")
LABELS = {p.name: p.label for p in schema.PARAMS}


class Refused(Exception):
    """The edit cannot be made as asked; the message says what to change."""


def address(server: str) -> str:
    """HOST:PORT of a server address as the user typed it."""
    return urllib.parse.urlsplit(edit_url(server)).netloc or server


def checked_address(typed: str) -> str:
    """The Address setting without the spaces around it; Refused, naming the setting,
    when it is not a server address (no host, a port that is not 1 to 65535)."""
    server = typed.strip()
    try:
        parts = urllib.parse.urlsplit(edit_url(server))
    except ValueError:  # an unclosed [ of an IPv6 address
        parts = None
    if parts is None or parts.scheme not in ("ws", "wss") or not parts.hostname:
        raise Refused(
            f"Address: {server!r} is not a server address; give one such as ws://127.0.0.1:7860."
        )
    _, colon, port = parts.netloc[parts.netloc.rfind("]") + 1 :].rpartition(":")
    if colon and not (port.isdigit() and 1 <= int(port) <= 65535):
        raise Refused(f"Address: the port must be a number from 1 to 65535, not {port!r}.")
    return server


def invalid(error: schema.Invalid) -> str:
    """A parameter the schema refuses, named by its control's label."""
    label = LABELS.get(error.field)
    return f"{label}: {error.text}" if label else error.text


def refused(message: str, field: str | None, frames: list[str]) -> str:
    """The server's refusal with its field in GIMP's words: 'params.grow: ...' becomes
    'Grow: ...', 'frames[2]: ...' the layer sent as frame 2 ('Exemplar "lake": ...')."""
    found = FIELD.match(message)
    if not found or found.group(1) != field:
        return message[:1].upper() + message[1:]
    rest = message[found.end() :]
    if found.group(2) is not None:
        name = LABELS.get(found.group(2), found.group(2))
    else:
        index = int(found.group(3))
        name = frames[index] if index < len(frames) else f"Image {index + 1}"
    return f"{name}: {rest}"


def not_running(server: str) -> str:
    return (
        f"The PIXELS server is not running at {address(server)}: start it with "
        "pixels serve, or check the Address setting."
    )


def lost(server: str) -> str:
    return (
        f"The PIXELS server at {address(server)} stopped answering during the edit: see its "
        "window or log, start it again if it ended, and run the edit again."
    )


def token(server: str, sent: bool) -> str:
    if sent:
        return (
            f"The PIXELS server at {address(server)} refused the token: check the Token "
            "setting (the token the server was started with)."
        )
    return (
        f"The PIXELS server at {address(server)} needs a token: enter the one it was started "
        "with in the Token setting, or set PIXELS_TOKEN before starting GIMP."
    )


def versions(server: str, detail: str) -> str:
    return (
        f"This plug-in and the PIXELS server at {address(server)} are different versions "
        f"({detail.rstrip('.')}). Install the plug-in that comes with the server "
        "(pixels install-plugin gimp) and restart GIMP."
    )


def model_failed(name: str, error: str | None) -> str:
    return f"The PIXELS server could not load the model '{name}': {error or 'no reason given'}."


def hidden(names: list[str]) -> str:
    """What Hide exemplars did, so that a layer vanishing from view is never a surprise."""
    listed = ", ".join(f"'{name}'" for name in names)
    layers = "layers" if len(names) > 1 else "layer"
    return (
        f"PIXELS: hid the exemplar {layers} {listed} so that the edit shows (Hide "
        "exemplars); Undo shows them again."
    )
