"""The docker's client of `pixels serve`, off Krita's UI thread.

`BackgroundClient` owns one `pixels_client.Client`; each call runs on a short-lived
worker thread and reports back through Qt signals, which Qt delivers on the UI thread,
so the docker never waits on the network. Errors travel as exceptions for the docker to
word (errors.describe).
"""

import threading
import time

from pixels_client import (
    AuthError,
    Client,
    JobCancelled,
    Progress,
    Queued,
    ServerUnavailable,
    Started,
    VersionMismatch,
)
from pixels_contract.messages import LOCAL_HOSTS

from .qt import QtCore, pyqtSignal

DEFAULT_URL = "127.0.0.1:7860"
LOAD_POLL_S = 1.0


class BackgroundClient(QtCore.QObject):
    """The connection to one server, the edits the docker runs on it one at a time,
    and its model menu."""

    connected = pyqtSignal(object)  # pixels_client.Welcome
    offline = pyqtSignal(object)  # the exception: no usable server
    queued = pyqtSignal(int, int)  # (variation, position; 1 = next)
    started = pyqtSignal(int)  # variation
    progress = pyqtSignal(int, object)  # (variation, pixels_client.Progress)
    finished = pyqtSignal(int, object)  # (variation, pixels_client.Result)
    mapped = pyqtSignal(object)  # the Result of a map request (a grey PNG)
    cancelled = pyqtSignal()
    failed = pyqtSignal(object)  # the exception that ended a request
    ended = pyqtSignal()  # after the last signal of a run (finished, cancelled or failed)
    models = pyqtSignal(object)  # GET /v1/models
    loading = pyqtSignal(object)  # the state of a model load, every LOAD_POLL_S

    def __init__(self, url: str = DEFAULT_URL, token: str | None = None):
        super().__init__()
        self.address = url
        self.client = Client(url, token)
        self.job = None
        self.busy = False
        self._cancel = threading.Event()

    @property
    def local(self) -> bool:
        """Whether the server runs on this machine (its PNGs then need no compression)."""
        host = self.client.url.split("://", 1)[-1].rsplit(":", 1)[0]
        return host in LOCAL_HOSTS

    def set_address(self, url: str, token: str | None = None) -> None:
        self.client.close()
        self.address, self.client = url, Client(url, token)

    def connect_server(self) -> None:
        """Connect (or check the connection), then list the models: `connected` and
        `models`, or `offline`."""
        client = self.client

        def work():
            self.connected.emit(client.connect())
            self.models.emit(client.models())

        self._spawn(work)

    def edit(self, make_request, variations: list[dict], want: str = "edit") -> None:
        """Run the request once per parameter set in `variations`, one after another:
        `finished` (or `mapped`) for each, then `ended`; or `cancelled` / `failed`.
        `make_request()` is called on the worker thread: writing the PNGs of a large
        canvas takes a second, and the maps it asks of the server (`map_of`) take a round
        trip, which the UI need not wait for."""
        if self.busy:
            raise RuntimeError("an edit is already running")
        self.busy, self.job = True, None
        self._cancel.clear()
        self._spawn(lambda: self._run(make_request, variations, want), done=self._idle)

    def cancel(self) -> None:
        """Cancel the running edit and those after it (at once if the server has not
        answered yet)."""
        self._cancel.set()
        job = self.job
        if job is not None and job.id is not None:
            self._spawn(job.cancel)

    def load_model(self, name: str) -> None:
        """Ask the server to load a model; `loading` follows it until it is ready or
        failed, then the connection is renewed (`connected` names the new model)."""
        client = self.client

        def work():
            state = client.load_model(name)
            self.loading.emit(state)
            while state.get("state") in ("waiting", "loading"):
                time.sleep(LOAD_POLL_S)
                state = client.load_state()
                self.loading.emit(state)
            client.close()
            self.connected.emit(client.connect())
            self.models.emit(client.models())

        self._spawn(work)

    def map_of(self, request):
        """The server's Result of a map request, for `make_request` of `edit` (on its
        worker thread): it waits for the server, and is cancelled with the edit."""
        return self._submit(request, "map").result()

    def _run(self, make_request, variations: list[dict], want: str) -> None:
        request = make_request()
        self.client.connect()
        for index, params in enumerate(variations):
            request.params = params
            job = self._submit(request, want)
            for event in job.events():
                if isinstance(event, Queued):
                    self.queued.emit(index, event.position)
                elif isinstance(event, Started):
                    self.started.emit(index)
                elif isinstance(event, Progress):
                    self.progress.emit(index, event)
            result = job.result()
            if want == "map":
                self.mapped.emit(result)
            else:
                self.finished.emit(index, result)

    def _submit(self, request, want: str):
        """Send a request unless cancelled; the job, cancelled if that came meanwhile."""
        if self._cancel.is_set():
            raise JobCancelled("cancelled before it was sent")
        self.job = job = self.client.submit(request, want)
        if self._cancel.is_set():
            job.cancel()
        return job

    def _idle(self) -> None:
        self.busy, self.job = False, None

    def _spawn(self, work, done=None) -> None:
        def run():
            try:
                work()
            except JobCancelled:
                self.cancelled.emit()
            except Exception as e:  # worded by the docker; a bug is reported there too
                if isinstance(e, ServerUnavailable | VersionMismatch | AuthError):
                    self.offline.emit(e)
                self.failed.emit(e)
            finally:
                if done is not None:
                    done()
                    self.ended.emit()

        threading.Thread(target=run, daemon=True).start()
