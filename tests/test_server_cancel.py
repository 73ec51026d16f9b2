"""Every job ends with exactly one of result, cancelled or error, and every cancel is
answered, even one racing the end of its job, on a real server."""

import json

import numpy as np
from serving import LONG, read_png, scene_request
from websockets.sync.client import connect

from pixels_cli import samples
from pixels_client import Client
from pixels_contract.messages import EDIT_PATH, PROTOCOL_VERSION
from pixels_engine.editor import edit_map
from pixels_engine.images import to_uint8
from pixels_engine.settings import EditSettings


class Channel:
    """A bare edit channel: what a client in another language would do."""

    def __init__(self, url: str):
        self.ws = connect(url + EDIT_PATH)
        self.ws.send(json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION}))
        assert self.next()["type"] == "welcome"

    def next(self) -> dict:
        message = json.loads(self.ws.recv(timeout=60))
        for _ in range(message.get("frames", 0)):
            self.ws.recv(timeout=60)
        return message

    def edit(self, ref: str, **params) -> None:
        request = scene_request(48, **{"steps": 2, "strength": 1.0, **params})
        self.ws.send(json.dumps(request.to_wire(ref)))
        for _, data in request.images():
            self.ws.send(data)


def test_a_cancel_of_an_ended_job_is_answered(server):
    channel = Channel(server.url)
    channel.edit("r1")
    messages = [channel.next()]
    while messages[-1]["type"] != "result":
        messages.append(channel.next())
    job = messages[0]["job"]
    channel.ws.send(json.dumps({"type": "cancel", "job": job}))
    answer = channel.next()
    assert answer["type"] == "error" and answer["code"] == "unknown_job"
    assert answer["job"] == job and answer["field"] == "job"
    channel.ws.close()


def test_a_second_cancel_of_a_running_job_is_answered(server):
    """At once, with unknown_job and no job id (an error naming a job ends it); the
    job's one cancelled answers the first cancel."""
    channel = Channel(server.url)
    channel.edit("long", **LONG)
    message = channel.next()
    job = message["job"]
    while message["type"] != "progress":
        message = channel.next()
    cancel = json.dumps({"type": "cancel", "job": job})
    channel.ws.send(cancel)
    channel.ws.send(cancel)
    unknown = "0" * 32
    channel.ws.send(json.dumps({"type": "cancel", "job": unknown}))  # answered after both
    ends, errors = [], []
    while not (ends and errors and errors[-1]["job"] == unknown):
        message = channel.next()
        if message["type"] in ("result", "cancelled"):
            ends.append(message)
        elif message["type"] == "error":
            errors.append(message)
    assert [(end["type"], end["job"]) for end in ends] == [("cancelled", job)]
    second, last = errors
    assert (second["code"], second["field"]) == ("unknown_job", "job")
    if second["job"] is None:
        assert job in second["message"]
    else:  # the job ended between the two cancels
        assert second["job"] == job
    assert last["code"] == "unknown_job"
    channel.ws.close()


def test_cancels_racing_the_end_of_their_jobs_are_each_answered_once(server):
    """Cancel each job at its last step, when the result is being made: the job ends
    cancelled (the cancel's answer), or its result comes first and then unknown_job."""
    channel = Channel(server.url)
    ends, answers, refs = {}, {}, {}
    for k in range(6):
        channel.edit(f"r{k}", seed=k)
        jobs_open = True
        while jobs_open:
            message = channel.next()
            kind, job = message["type"], message.get("job")
            if kind == "queued" and "ref" in message:
                refs[job] = message["ref"]
            elif kind == "progress" and message["step"] == message["total"]:
                channel.ws.send(json.dumps({"type": "cancel", "job": job}))
            elif kind in ("result", "cancelled"):
                assert job not in ends, f"{job} ended twice"
                ends[job] = kind
                if kind == "cancelled":  # the end is also the cancel's answer
                    answers.setdefault(job, []).append(kind)
            elif kind == "error" and message["code"] == "unknown_job":
                assert ends.get(job) == "result", "unknown_job before the job's own end"
                answers.setdefault(job, []).append("unknown_job")
            jobs_open = not (job in answers and job in ends)
    assert sorted(refs.values()) == [f"r{k}" for k in range(6)]
    assert all(len(a) == 1 for a in answers.values()) and set(answers) == set(refs)
    channel.ws.close()


def test_the_map_request_answers_with_the_map_the_edit_would_use(server):
    """Without running the model (no progress): the engine's edit map, as a grey PNG."""
    source, exemplars = samples.scene(48)
    settings = EditSettings(grow=3, transition=6)
    expected = to_uint8(edit_map(source, exemplars, settings))
    request = scene_request(48, grow=3, transition=6)
    with Client(server.url) as client:
        job = client.submit(request, want="map")
        kinds = [type(event).__name__ for event in job.events(timeout=60)]
        result = job.result()
    assert kinds == ["Queued", "Started", "Result"] and result.steps_run == 0
    assert np.array_equal(read_png(result.image), expected)
    dark = np.argwhere(expected < 255)
    assert result.region == [*dark.min(axis=0)[::-1], *(dark.max(axis=0)[::-1] + 1)]
