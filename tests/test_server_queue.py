"""The fair queue on its own: turns between owners, bounds, removal."""

import pytest

from pixels_contract import schema
from pixels_contract.messages import Refusal
from server.jobs import FairQueue, Job


def job(owner: str) -> Job:
    return Job(owner, None, dict(schema.DEFAULTS), [], (8, 8))


def test_owners_take_turns_and_order_predicts_get():
    queue = FairQueue(10)
    a1, a2, a3, b1, c1 = job("a"), job("a"), job("a"), job("b"), job("c")
    for j in (a1, a2, a3, b1, c1):
        queue.put(j)
    assert queue.order() == [a1, b1, c1, a2, a3]
    assert [queue.get() for _ in range(5)] == [a1, b1, c1, a2, a3]
    assert len(queue) == 0


def test_bound_and_remove():
    queue = FairQueue(2)
    a, b = job("a"), job("b")
    queue.put(a)
    queue.put(b)
    with pytest.raises(Refusal) as full:
        queue.put(job("c"))
    assert full.value.code == "queue_full"
    assert queue.remove(a) and not queue.remove(a)
    assert queue.order() == [b]
    assert queue.close() == [b] and queue.get() is None
