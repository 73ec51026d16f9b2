"""The websockets library: the copy vendored into this package at build time (see
vendor.py) when there is one, as inside GIMP or Krita, else the installed one."""

try:
    from ._vendor.websockets.exceptions import (
        ConnectionClosed,
        InvalidHandshake,
        InvalidStatus,
        InvalidURI,
    )
    from ._vendor.websockets.sync.client import connect
except ImportError:
    from websockets.exceptions import ConnectionClosed, InvalidHandshake, InvalidStatus, InvalidURI
    from websockets.sync.client import connect

__all__ = ["ConnectionClosed", "InvalidHandshake", "InvalidStatus", "InvalidURI", "connect"]
