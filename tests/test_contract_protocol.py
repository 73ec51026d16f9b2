"""The edit channel's two ends as sans-I/O state machines: messages and bytes in, events
and messages out, with no socket, thread or clock (time is passed in). Milliseconds."""

import json
import struct
import zlib

import pytest

from pixels_contract import png
from pixels_contract.messages import (
    MAX_TEXT_BYTES,
    PROTOCOL_VERSION,
    QUEUE_FULL,
    EditRequest,
    Error,
    Layer,
    Limits,
    Progress,
    ProtocolError,
    Queued,
    Refusal,
    Result,
    Welcome,
)
from pixels_contract.protocol import (
    CancelRequested,
    ClientProtocol,
    EditSubmitted,
    HelloReceived,
    ServerProtocol,
    serialize,
)

LIMITS = Limits(max_pixels=64 * 64, max_exemplars=2, max_steps=50, frame_timeout=5.0)
WHITE = png.encode_rgba(16, 16, b"\xff" * 16 * 16 * 4)
GREY = png.encode_grey(16, 16, b"\x80" * 16 * 16)
HELLO = json.dumps({"type": "hello", "protocol": PROTOCOL_VERSION})


def opened(now: float = 0.0) -> ServerProtocol:
    server = ServerProtocol(LIMITS, now)
    server.receive(HELLO, now)
    assert server.events_received() == [HelloReceived()]
    return server


def answers(server: ServerProtocol) -> list[dict]:
    return [json.loads(data) for data in server.data_to_send()]


def error(server: ServerProtocol, code: str, field: str | None = "-") -> dict:
    (message,) = answers(server)
    assert message["type"] == "error" and message["code"] == code, message
    assert field == "-" or message["field"] == field, message
    assert message["message"], message
    return message


def edit(server: ServerProtocol, roles, images, params=None, ref="r1", now=0.0, kind="edit"):
    body = {"type": kind, "ref": ref, "frames": roles, "params": {} if params is None else params}
    server.receive(json.dumps(body), now)
    for image in images:
        server.receive(image, now)


def png_header(width: int, height: int) -> bytes:
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    return (
        png.SIGNATURE
        + struct.pack(">I", 13)
        + b"IHDR"
        + ihdr
        + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    )


# --- the server's end ---------------------------------------------------------------------


def test_hello_then_a_checked_edit_becomes_one_event():
    server = opened()
    edit(server, ["source", "exemplar", "map"], [WHITE, WHITE, GREY], {"steps": 8.0, "seed": 3})
    (event,) = server.events_received()
    assert isinstance(event, EditSubmitted) and event.want == "edit"
    assert event.ref == "r1" and event.canvas == (16, 16) and event.exemplars == 1
    assert [(f.role, f.kind, f.exemplar) for f in event.frames] == [
        ("source", "source", 0),
        ("exemplar 1", "exemplar", 1),
        ("map of exemplar 1", "map", 1),
    ]
    assert event.params["steps"] == 8 and event.params["seed"] == 3
    assert event.params["threshold"] == "linear"  # defaults filled in
    assert server.data_to_send() == [] and server.deadline is None


def test_a_map_request_is_an_edit_that_wants_the_map():
    server = opened()
    edit(server, ["source", "global_map"], [WHITE, GREY], kind="map")
    (event,) = server.events_received()
    assert event.want == "map" and event.frames[1].kind == "global_map"


@pytest.mark.parametrize(
    "hello, code",
    [
        ({"type": "hello", "protocol": 1}, "version_mismatch"),
        ({"type": "hello", "protocol": "2"}, "version_mismatch"),
        ({"type": "edit"}, "handshake_required"),
        (b"\x00\x01", "handshake_required"),
        ("not json", "handshake_required"),
        ("[" * 10_000 + "]" * 10_000, "handshake_required"),
    ],
)
def test_a_bad_hello_is_refused_and_closes(hello, code):
    server = ServerProtocol(LIMITS, 0.0)
    server.receive(hello if isinstance(hello, str | bytes) else json.dumps(hello), 0.0)
    error(server, code)
    assert server.close == (1008, code) and server.events_received() == []
    server.receive(HELLO, 1.0)  # nothing more is read once the protocol closed
    assert server.data_to_send() == [] and server.events_received() == []


def test_no_hello_in_time_closes():
    server = ServerProtocol(LIMITS, 100.0)
    server.expire(105.0)
    assert server.data_to_send() == [] and server.close is None  # not yet
    server.expire(server.deadline)
    error(server, "handshake_required")
    assert server.close is not None


@pytest.mark.parametrize(
    "text, problem",
    [
        ("{", "not JSON"),
        ('{"type": "edit", "type": "cancel"}', "appears twice"),
        ("[1, 2]", "JSON object"),
        ('{"type": 5}', "JSON object"),
        ('{"type": "edit", "params": ' + "[" * 5000 + "]" * 5000 + "}", "nested too deeply"),
        ('{"type": "edit", "params": {"levels": [[[[1]]]]}}', "nested too deeply"),
        ('{"type": "result"}', "unknown message type 'result'"),
    ],
)
def test_every_malformed_message_gets_a_typed_error_and_the_channel_goes_on(text, problem):
    server = opened()
    server.receive(text, 0.0)
    assert problem in error(server, "bad_message", None)["message"]
    assert server.close is None
    edit(server, ["source", "exemplar"], [WHITE, WHITE])
    assert len(server.events_received()) == 1


def test_answers_follow_the_error_table():
    """too_large for what is over a limit (a message over the size bound, steps over the
    schema's bound as over the server's), invalid_field for a wrong value, however big."""
    server = opened()
    server.receive('{"type": "edit", "prompt": "' + "x" * 20 * 2**20 + '"}', 0.0)
    assert f"at most {MAX_TEXT_BYTES}" in error(server, "too_large", None)["message"]
    cases = [
        ({"seed": 10**400}, "invalid_field"),
        ({"seed": -(10**400)}, "invalid_field"),
        ({"guidance": 10**400}, "invalid_field"),
        ({"levels": [0, 10**400]}, "invalid_field"),
        ({"steps": 10**9}, "too_large"),
        ({"steps": 10**400}, "too_large"),
        ({"steps": 1001}, "too_large"),
        ({"steps": -(10**9)}, "invalid_field"),
    ]
    for params, code in cases:
        edit(server, ["source", "exemplar"], [WHITE, WHITE], params)
        error(server, code, f"params.{next(iter(params))}")
    assert server.close is None and server.events_received() == []


def test_field_paths_name_the_exact_part():
    cases = [
        (["source", "exemplar"], [WHITE, WHITE], {"grow": 900}, "invalid_field", "params.grow"),
        (["source", "exemplar"], [WHITE, WHITE], {"colour": 1}, "invalid_field", "params.colour"),
        (["source", "exemplar"], [WHITE, WHITE], [], "invalid_field", "params"),
        (["source", "exemplar"], [WHITE, WHITE], {"steps": 60}, "too_large", "params.steps"),
        (["source", "exemplar"], [WHITE, b"GIF89a"], {}, "invalid_field", "frames[1]"),
        (
            ["source", "exemplar", "map"],
            [WHITE, WHITE, WHITE[:20]],
            {},
            "invalid_field",
            "frames[2]",
        ),
        (["source", "exemplar"], [WHITE, png_header(65, 65)], {}, "too_large", "frames[1]"),
        (["source", "exemplar"], [WHITE, png_header(8, 8)], {}, "invalid_field", "frames[1]"),
        (["source", "exemplar"], [png_header(0, 16), WHITE], {}, "invalid_field", "frames[0]"),
        (["source", "map"], [WHITE, GREY], {}, "invalid_field", "frames[1]"),
        (["exemplar", "source"], [WHITE, WHITE], {}, "invalid_field", "frames[0]"),
        (["source", "layer"], [WHITE, WHITE], {}, "invalid_field", "frames[1]"),
        (["source"], [WHITE], {}, "invalid_field", "frames"),
        (["source", *["exemplar"] * 3], [WHITE] * 4, {}, "too_large", "frames"),
        ("source", [], {}, "invalid_field", "frames"),
    ]
    server = opened()
    for roles, images, params, code, field in cases:
        edit(server, roles, images, params)
        message = error(server, code, field)
        assert message["ref"] == "r1" and message["message"].startswith(field), message
        assert server.events_received() == []


def test_bounds_are_quoted_in_the_message():
    server = opened()
    edit(server, ["source", "exemplar"], [WHITE, WHITE], {"grow": 10**6})
    assert "must be -256 to 256 px, not 1000000" in error(server, "invalid_field")["message"]
    edit(server, ["source", "exemplar"], [WHITE, WHITE], {"prompt": "a \ud800 lake"})
    assert "lone surrogate" in error(server, "invalid_field", "params.prompt")["message"]
    edit(server, ["source", "exemplar"], [WHITE, WHITE], {"steps": 3, "strength": 0.2})
    assert "runs no step" in error(server, "invalid_field", "params.strength")["message"]
    edit(server, ["source", "exemplar"], [WHITE, png_header(100_000, 100_000)])
    assert "over this server's limit of 4096 pixels" in error(server, "too_large")["message"]


def test_images_announced_but_not_sent_time_out_and_late_ones_are_stray():
    server = opened(10.0)
    edit(server, ["source", "exemplar"], [WHITE], now=10.0)
    assert server.deadline == 15.0
    server.expire(14.9)
    assert server.data_to_send() == []
    server.expire(15.0)
    message = error(server, "timeout", "frames")
    assert "announced 2 images but 1 arrived within 5 s" in message["message"]
    assert message["ref"] == "r1" and server.deadline is None
    server.receive(WHITE, 16.0)
    assert "no edit announced" in error(server, "bad_message")["message"]
    assert server.events_received() == []


def test_each_image_restarts_the_clock():
    server = opened()
    edit(server, ["source", "exemplar", "exemplar"], [WHITE], now=0.0)
    server.receive(WHITE, 4.0)
    server.expire(6.0)
    assert server.data_to_send() == []
    server.receive(WHITE, 8.0)
    assert len(server.events_received()) == 1


def test_a_text_where_an_image_belongs_drops_the_edit():
    server = opened()
    edit(server, ["source", "exemplar"], [WHITE])
    server.receive('{"type": "cancel", "job": "x"}', 0.0)
    message = error(server, "bad_message", "frames[1]")
    assert message["ref"] == "r1" and "image 2 of 2" in message["message"]
    assert server.events_received() == []  # the cancel went with the edit


def test_an_edit_its_server_cannot_hold_is_refused_and_its_other_images_dropped():
    """`held` counts the images received for the edit still coming; `refuse_edit` ends
    it there, and the images it still announced are read without a word (a text message
    ends them)."""
    server = opened()
    edit(server, ["source", "exemplar", "exemplar"], [WHITE])
    assert server.expecting_image and server.held == len(WHITE)
    server.refuse_edit(Refusal(QUEUE_FULL, "the server is full.", "frames"))
    assert error(server, "queue_full", "frames")["ref"] == "r1"
    assert not server.expecting_image and server.held == 0
    server.receive(WHITE, 0.0)  # the second and third images: dropped, no stray
    server.receive(WHITE, 0.0)
    assert server.data_to_send() == [] and server.events_received() == []
    server.receive(WHITE, 0.0)
    error(server, "bad_message")
    edit(server, ["source", "exemplar", "exemplar"], [WHITE])
    server.refuse_edit(Refusal(QUEUE_FULL, "the server is full.", "frames"))
    error(server, "queue_full")
    server.receive('{"type": "cancel", "job": "x"}', 0.0)  # ends the dropping
    assert server.events_received() == [CancelRequested("x")]
    server.receive(WHITE, 0.0)
    error(server, "bad_message")


def test_the_server_reads_no_more_than_max_frames_images():
    server = opened()
    edit(server, ["source"] + ["exemplar"] * 10, [WHITE] * 6)  # max_frames is 6
    error(server, "too_large", "frames")
    server.receive(WHITE, 0.0)
    error(server, "bad_message")


def test_cancels_name_a_job_or_are_refused():
    server = opened()
    server.receive('{"type": "cancel", "job": "abc"}', 0.0)
    assert [e.job for e in server.events_received()] == ["abc"]
    for job in (None, 5, "", "x" * 65, ["a"]):
        server.receive(json.dumps({"type": "cancel", "job": job}), 0.0)
        error(server, "unknown_job", "job")


def test_a_bad_ref_is_refused_and_not_echoed():
    server = opened()
    for ref in (5, "x" * 65, ["r"]):
        edit(server, ["source", "exemplar"], [WHITE, WHITE], ref=ref)
        message = error(server, "invalid_field", "ref")
        assert message["ref"] is None


# --- the client's end ---------------------------------------------------------------------


def welcomed() -> ClientProtocol:
    client = ClientProtocol()
    welcome = Welcome(PROTOCOL_VERSION, "test", {"name": "tiny"}, LIMITS, ["edit"])
    for data in serialize(welcome):
        client.receive(data)
    assert client.events_received() == [welcome] and client.welcome == welcome
    return client


RESULT = Result("j1", WHITE, 7, [0, 0, 8, 8], [64, 64], 3, {"sample": 1.5}, True, True)


def test_the_client_reads_what_the_server_writes():
    client = welcomed()
    messages = [
        Queued("j1", 1, "r1"),
        Progress("j1", 1, 3, 2.0),
        Progress("j1", 2, 3, 1.0, GREY),
        RESULT,
        Error("queue_full", "full", ref="r2"),
    ]
    for message in messages:
        for data in serialize(message):
            client.receive(data)
    assert client.events_received() == messages


def test_an_edit_round_trips_from_client_to_server():
    request = EditRequest(WHITE, [Layer(WHITE, GREY), Layer(WHITE)], GREY, {"seed": 9})
    server = opened()
    for data in ClientProtocol().edit(request, "r7", want="map"):
        server.receive(data, 0.0)
    (event,) = server.events_received()
    assert event.ref == "r7" and event.want == "map" and event.params["seed"] == 9
    assert [f.data for f in event.frames] == [WHITE, WHITE, GREY, WHITE, GREY]
    assert [f.kind for f in event.frames][-1] == "global_map"


@pytest.mark.parametrize(
    "sent, problem",
    [
        (['{"type": "result", "job": "j", "frames": 1}', WHITE], "result message without"),
        (['{"type": "queued", "job": 5, "position": 1}'], "'job' is int"),
        (['{"type": "progress", "job": "j", "step": 1, "total": 2, "eta": 1, "frames": 2}'], "2"),
        (['{"type": "result", "frames": 1}', '{"type": "started"}'], "text message where image"),
        ([WHITE], "no message announced"),
        (['{"type": "started", "job": "j", "frames": -1}'], "announcing -1"),
        (["{" * 3], "not JSON"),
        (['{"type": "error", "code": "x"}'], "without 'message'"),
    ],
)
def test_the_client_refuses_what_the_protocol_does_not_allow(sent, problem):
    client = welcomed()
    with pytest.raises(ProtocolError, match=problem):
        for data in sent:
            client.receive(data)


def test_nothing_but_a_welcome_or_an_error_comes_first():
    client = ClientProtocol()
    with pytest.raises(ProtocolError, match="before the welcome"):
        client.receive('{"type": "started", "job": "j"}')
    refused = ClientProtocol()
    refused.receive('{"type": "error", "code": "version_mismatch", "message": "update"}')
    assert refused.events_received()[0].code == "version_mismatch"


def test_a_newer_servers_messages_are_skipped_with_their_images():
    client = welcomed()
    client.receive('{"type": "sparkle", "frames": 2}')
    client.receive(WHITE)
    client.receive(WHITE)
    client.receive('{"type": "started", "job": "j", "colour": "new field"}')
    assert [type(e).__name__ for e in client.events_received()] == ["Started"]
