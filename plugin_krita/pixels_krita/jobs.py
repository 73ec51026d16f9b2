"""Talking to the server off Krita's UI thread.

`Server` owns the client connection; each call runs on a short-lived worker thread and
reports back through Qt signals, which Qt delivers on the UI thread, so the docker never
waits on the network. `request` is what an edit sends (the Krita tests check it).
"""

import threading

from pixels_client import (
    AuthError,
    Client,
    ClientError,
    EditRequest,
    JobCancelled,
    JobError,
    Layer,
    Progress,
    Queued,
    ServerUnavailable,
    Started,
    VersionMismatch,
)

from . import pixels
from .document import Inputs
from .params import Params
from .qt import QtCore, pyqtSignal

DEFAULT_URL = "127.0.0.1:7860"


def request(inputs: Inputs, params: Params) -> EditRequest:
    """The edit request for inputs read from a document."""
    w, h = inputs.width, inputs.height
    layers = [
        Layer(
            pixels.encode_rgba(w, h, e.rgba),
            None if e.map is None else pixels.encode_grey(w, h, e.map),
        )
        for e in inputs.exemplars
    ]
    return EditRequest(pixels.encode_rgba(w, h, inputs.source), layers, params=params.wire())


def decode(result, inputs: Inputs) -> bytes:
    """The result's RGBA pixels, checked against the canvas they are for."""
    w, h, rgba = pixels.decode_png(result.image)
    if (w, h) != (inputs.width, inputs.height):
        raise ClientError(
            f"the server sent a {w}x{h} result for a {inputs.width}x{inputs.height} canvas"
        )
    return rgba


def describe(error: Exception) -> str:
    """A message for the docker: what went wrong, then the server's or client's words."""
    kinds = (
        (ServerUnavailable, "Server not running"),
        (VersionMismatch, "Version mismatch"),
        (AuthError, "Not allowed"),
        (JobError, "The edit failed"),
    )
    label = next((text for kind, text in kinds if isinstance(error, kind)), "Error")
    return f"{label}: {error}"


def model_line(info) -> str:
    """'tiny on cpu (float32, random weights)' from the handshake."""
    model = info.model or {}
    extras = [model.get("dtype")] + (["random weights"] if model.get("random_weights") else [])
    extra = ", ".join(e for e in extras if e)
    state = model.get("state", "ready")
    text = f"{model.get('name', '?')} on {model.get('device', '?')}"
    text += f" ({extra})" if extra else ""
    return text if state == "ready" else f"{text}, model {state}"


class Server(QtCore.QObject):
    """The connection to one server and the one edit the docker runs at a time."""

    connected = pyqtSignal(object)  # ServerInfo
    queued = pyqtSignal(int)  # position, 1 = next
    started = pyqtSignal()
    progress = pyqtSignal(object)  # pixels_client.Progress (with its preview PNG)
    finished = pyqtSignal(object, object)  # (pixels_client.Result, RGBA bytes)
    cancelled = pyqtSignal()
    failed = pyqtSignal(str)  # a message for the user
    offline = pyqtSignal(str)  # no usable server (also sent along with `failed`)

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None):
        super().__init__()
        self.client = Client(url, token)
        self.job = None
        self.busy = False
        self._cancel = threading.Event()

    def set_address(self, url: str, token: str | None = None) -> None:
        self.client.close()
        self.client = Client(url, token)

    def connect_server(self) -> None:
        """Connect (or check the connection) in the background: `connected` or `failed`."""
        client = self.client
        self._spawn(lambda: self.connected.emit(client.connect()))

    def generate(self, inputs: Inputs, params: Params) -> None:
        """Run one edit in the background; ends with `finished`, `cancelled` or `failed`."""
        if self.busy:
            raise RuntimeError("an edit is already running")
        self.busy, self.job = True, None
        self._cancel.clear()
        self._spawn(lambda: self._run(inputs, params), done=self._idle)

    def cancel(self) -> None:
        """Cancel the running edit (at once if the server has not answered yet)."""
        self._cancel.set()
        job = self.job
        if job is not None and job.id is not None:
            self._spawn(job.cancel)

    def _run(self, inputs: Inputs, params: Params) -> None:
        self.client.connect()
        self.connected.emit(self.client.info)
        self.job = job = self.client.submit(request(inputs, params))
        if self._cancel.is_set():
            job.cancel()
        for event in job.events():
            if isinstance(event, Queued):
                self.queued.emit(event.position)
            elif isinstance(event, Started):
                self.started.emit()
            elif isinstance(event, Progress):
                self.progress.emit(event)
        result = job.result()
        self.finished.emit(result, decode(result, inputs))

    def _idle(self) -> None:
        self.busy, self.job = False, None

    def _spawn(self, work, done=None) -> None:
        def run():
            try:
                work()
            except JobCancelled:
                self.cancelled.emit()
            except (ClientError, ValueError) as e:
                if isinstance(e, ServerUnavailable | VersionMismatch | AuthError):
                    self.offline.emit(describe(e))
                self.failed.emit(describe(e))
            except Exception as e:  # a bug: say so in the docker rather than lose it
                self.failed.emit(f"Unexpected error: {type(e).__name__}: {e}")
            finally:
                if done is not None:
                    done()

        threading.Thread(target=run, daemon=True).start()
