"""Jobs and the bounded queue that serves the clients in turn.

The queue keeps one lane per connection and takes the head of each lane in turn, so a
client with ten jobs queued does not make another client's single job wait for all ten.
"""

import threading
import time
import uuid
from collections import OrderedDict, deque
from dataclasses import dataclass, field

from pixels_contract.messages import QUEUE_FULL, SHUTTING_DOWN, Cancelled, Refusal
from pixels_contract.protocol import Frame

ENDED = ("done", "failed", "cancelled")


@dataclass(eq=False)
class Job:
    owner: object  # the connection that submitted it; the only one told about it
    ref: str | None
    params: dict  # checked against the schema
    frames: list[Frame]
    canvas: tuple[int, int]
    memory: int = 0  # bytes it may need, estimated at submit
    want: str = "edit"  # "map": the edit map the edit would use, without the model
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    cancel: threading.Event = field(default_factory=threading.Event)
    state: str = "queued"  # running, then one of ENDED
    position: int = 0  # last position told to the owner
    submitted: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    error: str | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def encoded(self) -> int:
        """Bytes of its images as sent, held until it runs."""
        return sum(len(frame.data) for frame in self.frames)

    def request_cancel(self) -> bool:
        """Ask the job to stop; False if it has already ended (its last message is sent)."""
        with self._lock:
            if self.state in ENDED:
                return False
            self.cancel.set()
            return True

    def end(self, state: str, message) -> bool:
        """End the job once, telling its owner with `message`. A job whose cancel was
        accepted ends cancelled even if its result was ready: every accepted cancel is
        answered by `cancelled`. False if the job had already ended."""
        with self._lock:
            if self.state in ENDED:
                return False
            if state == "done" and self.cancel.is_set():
                state, message = "cancelled", Cancelled(self.id)
            self.state, self.finished = state, time.time()
            if state == "failed":
                self.error = message.code
            self.owner.post(message)
            return True

    def summary(self) -> dict:
        """For the status page and /v1/status: no images, no prompt."""
        end = self.finished or time.time()
        return {
            "id": self.id,
            "client": getattr(self.owner, "peer", "?"),
            "state": self.state,
            "canvas": f"{self.canvas[0]}x{self.canvas[1]}",
            "steps": self.params["steps"],
            "waited_s": round((self.started or end) - self.submitted, 2),
            "ran_s": round(end - self.started, 2) if self.started else None,
            "error": self.error,
        }


def shutting_down() -> Refusal:
    """What a job the server ends by stopping is told."""
    return Refusal(SHUTTING_DOWN, "the server is shutting down.")


class FairQueue:
    """At most `capacity` waiting jobs, holding at most `max_bytes` of images together
    (so that many requests cannot do what no single one may: exhaust the memory); `get`
    takes one from each owner in turn."""

    def __init__(self, capacity: int, max_bytes: int):
        self.capacity, self.max_bytes = capacity, max_bytes
        self._lanes: OrderedDict[object, deque[Job]] = OrderedDict()
        self._size = 0
        self._bytes = 0
        self._woken = False
        self._closed = False
        self._cond = threading.Condition()

    def __len__(self) -> int:
        return self._size

    def put(self, job: Job) -> None:
        with self._cond:
            if self._closed:
                raise shutting_down()
            if self._size >= self.capacity:
                raise Refusal(
                    QUEUE_FULL,
                    f"the queue is full ({self.capacity} jobs waiting). Try again when one of "
                    "your jobs has finished.",
                )
            if self._bytes + job.encoded > self.max_bytes:
                raise Refusal(
                    QUEUE_FULL,
                    f"the waiting jobs hold {self._bytes / 2**30:.1f} GB of images, and this "
                    f"one's {job.encoded / 2**30:.1f} GB would pass the server's "
                    f"{self.max_bytes / 2**30:.1f} GB. Try again when a job has finished.",
                )
            self._lanes.setdefault(job.owner, deque()).append(job)
            self._size += 1
            self._bytes += job.encoded
            self._cond.notify_all()

    def get(self) -> Job | None:
        """The next job, waiting for one; None when woken (see `wake`) or closed."""
        with self._cond:
            self._cond.wait_for(lambda: self._size or self._woken or self._closed)
            if self._woken or self._closed:
                self._woken = False
                return None
            owner, lane = next(iter(self._lanes.items()))
            job = lane.popleft()
            self._size -= 1
            self._bytes -= job.encoded
            del self._lanes[owner]
            if lane:  # the owner goes to the back of the line
                self._lanes[owner] = lane
            return job

    def remove(self, job: Job) -> bool:
        """Take a waiting job out; False if it is not waiting (running or done)."""
        with self._cond:
            lane = self._lanes.get(job.owner)
            if lane is None or job not in lane:
                return False
            lane.remove(job)
            self._size -= 1
            self._bytes -= job.encoded
            if not lane:
                del self._lanes[job.owner]
            return True

    def order(self) -> list[Job]:
        """The waiting jobs in the order they will run."""
        with self._cond:
            lanes = [list(lane) for lane in self._lanes.values()]
        depth = max((len(lane) for lane in lanes), default=0)
        return [lane[i] for i in range(depth) for lane in lanes if i < len(lane)]

    def wake(self) -> None:
        """Make a waiting `get` return None (the worker has other work: a model load)."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def close(self) -> list[Job]:
        """Stop serving; returns the jobs that were still waiting."""
        with self._cond:
            self._closed = True
            jobs = [job for lane in self._lanes.values() for job in lane]
            self._lanes.clear()
            self._size = self._bytes = 0
            self._cond.notify_all()
            return jobs
