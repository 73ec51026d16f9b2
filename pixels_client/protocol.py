"""The edit channel's wire format, shared by the server and every client (stdlib only).

Text frames carry one JSON object with a ``type``. A message that carries images says
how many in ``frames``; exactly that many binary frames (PNG bytes) follow it, in the
order its ``frames`` list (client to server) or the message type (server to client)
gives. docs/protocol.md is the full description.
"""

import json

PROTOCOL_VERSION = 1
EDIT_PATH = "/v1/edit"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7860
TOKEN_HEADER = "Authorization"  # "Bearer <token>"

# Roles of the binary frames of an edit request, in the order they are sent: the
# source first, each exemplar followed by its own map if it has one, the global map last.
SOURCE, EXEMPLAR, MAP, GLOBAL_MAP = "source", "exemplar", "map", "global_map"

# The edit parameters and their defaults: those of `pixels edit`.
PARAMS = {
    "prompt": "",
    "negative_prompt": "",
    "guidance": 5.0,
    "strength": 0.6,
    "steps": 30,
    "seed": None,
    "threshold": "linear",
    "mode": "single",
    "transition": 32.0,
    "invert": False,
    "levels": [0.0, 1.0],
    "gamma": 1.0,
    "grow": 0,
    "feather": 0.0,
    "quantise": 0,
}

# Error codes (``error`` messages and HTTP error bodies).
BAD_MESSAGE = "bad_message"  # not JSON, unknown type, frames out of order
HANDSHAKE_REQUIRED = "handshake_required"
VERSION_MISMATCH = "version_mismatch"
INVALID_FIELD = "invalid_field"  # a parameter or an image; `field` names it
TOO_LARGE = "too_large"  # over a limit the server announced
QUEUE_FULL = "queue_full"
UNKNOWN_JOB = "unknown_job"
MODEL_UNAVAILABLE = "model_unavailable"
OUT_OF_MEMORY = "out_of_memory"
EDIT_FAILED = "edit_failed"
SHUTTING_DOWN = "shutting_down"
BUSY = "busy"  # HTTP: a model load is already under way


def dumps(message: dict) -> str:
    return json.dumps(message, separators=(",", ":"), allow_nan=False)


def loads(text: str) -> dict:
    """One message; ValueError when it is not a JSON object with a string ``type``."""
    message = json.loads(text)
    if not isinstance(message, dict) or not isinstance(message.get("type"), str):
        raise ValueError('a message must be a JSON object with a string "type"')
    return message
