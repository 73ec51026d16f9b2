"""The client never hangs: whatever a server sends that the protocol does not allow (or a
server that vanishes), every pending job ends with an error a plug-in can show.

The servers here are real WebSocket servers on loopback that welcome the client as
`pixels serve` would and then misbehave in one way each."""

import json
import threading

import pytest
from serving import scene_request
from websockets.sync.server import serve

from pixels_client import Client, ProtocolViolation, ServerUnavailable
from pixels_contract.messages import PROTOCOL_VERSION, Limits, Welcome
from pixels_contract.protocol import serialize

WELCOME = Welcome(PROTOCOL_VERSION, "hostile", {"name": "tiny"}, Limits(), ["edit"])
QUEUED = '{"type": "queued", "job": "j1", "ref": "r1", "position": 1}'

MISBEHAVIOURS = {
    "a result without its fields": [QUEUED, '{"type": "result", "job": "j1", "frames": 1}', b"x"],
    "a queued answer without a position": ['{"type": "queued", "job": "j1", "ref": "r1"}'],
    "an image nobody announced": [QUEUED, b"\x89PNG"],
    "a text where an image belongs": [QUEUED, '{"type": "result", "frames": 1}', "{}"],
    "not JSON": [QUEUED, "{{{"],
    "a progress with two images": [
        QUEUED,
        '{"type": "progress", "job": "j1", "step": 1, "total": 2, "eta": 1, "frames": 2}',
    ],
}


def hostile(script: list, close: bool = False):
    """A server that welcomes, reads one edit with its images, then sends `script`."""

    def handle(ws):
        ws.recv()
        for data in serialize(WELCOME):
            ws.send(data)
        edit = json.loads(ws.recv())
        for _ in edit["frames"]:
            ws.recv()
        for data in script:
            ws.send(data)
        if close:
            return
        for _ in ws:  # stay connected: the client must notice by itself
            pass

    server = serve(handle, "127.0.0.1", 0)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"ws://127.0.0.1:{server.socket.getsockname()[1]}"


@pytest.mark.parametrize("case", list(MISBEHAVIOURS))
def test_a_message_the_protocol_does_not_allow_ends_every_pending_job(case):
    server, url = hostile(MISBEHAVIOURS[case])
    try:
        with Client(url, timeout=10) as client:
            with pytest.raises(ProtocolViolation, match="does not understand"):
                client.submit(scene_request(32)).result(timeout=30)
            assert not client.connected
    finally:
        server.shutdown()


def test_a_server_that_goes_away_mid_job_ends_the_job():
    server, url = hostile([QUEUED, '{"type": "started", "job": "j1"}'], close=True)
    try:
        with Client(url, timeout=10) as client:
            job = client.submit(scene_request(32))
            with pytest.raises(ServerUnavailable, match="lost"):
                job.result(timeout=30)
    finally:
        server.shutdown()
