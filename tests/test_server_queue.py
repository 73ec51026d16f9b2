"""The fair queue on its own: turns between owners, bounds, removal."""

import pytest

from pixels_contract import schema
from pixels_contract.messages import Refusal
from pixels_contract.protocol import Frame
from server.jobs import FairQueue, Job


def job(owner: str, size: int = 10) -> Job:
    frames = [Frame("source", "source", 0, bytes(size))]
    return Job(owner, None, dict(schema.DEFAULTS), frames, (8, 8))


def test_owners_take_turns_and_order_predicts_get():
    queue = FairQueue(10, 1000)
    a1, a2, a3, b1, c1 = job("a"), job("a"), job("a"), job("b"), job("c")
    for j in (a1, a2, a3, b1, c1):
        queue.put(j)
    assert queue.order() == [a1, b1, c1, a2, a3]
    assert [queue.get() for _ in range(5)] == [a1, b1, c1, a2, a3]
    assert len(queue) == 0


def test_bound_and_remove():
    queue = FairQueue(2, 1000)
    a, b = job("a"), job("b")
    queue.put(a)
    queue.put(b)
    with pytest.raises(Refusal) as full:
        queue.put(job("c"))
    assert full.value.code == "queue_full"
    assert queue.remove(a) and not queue.remove(a)
    assert queue.order() == [b]
    assert queue.close() == [b] and queue.get() is None


def test_the_waiting_jobs_images_are_bounded_together():
    """Many requests may not do what no single one may: hold more than the budget."""
    queue = FairQueue(10, 1000)
    first, second = job("a", 600), job("b", 300)
    queue.put(first)
    queue.put(second)
    with pytest.raises(Refusal, match="hold 0.0 GB") as full:
        queue.put(job("c", 200))
    assert full.value.code == "queue_full"
    assert queue.get() is first
    queue.put(job("c", 200))  # room again once a job runs
    assert queue.remove(second) and len(queue) == 1
