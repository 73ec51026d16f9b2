"""`pixels serve`: the local edit server the plug-ins talk to (protocol: docs/protocol.md).

One worker thread holds the model and runs the jobs of every connected client in turn;
the websocket edit channel and the Flask HTTP pages share one port.
"""

from .app import Server
from .config import Config, Limits

__all__ = ["Config", "Limits", "Server"]
