"""Hostile and malformed input: every message gets a typed error (or the connection is
refused or closed), and afterwards the server still answers a valid edit correctly."""

import io
import json
import random
import struct
import urllib.error
import urllib.request
import zlib

import numpy as np
import pytest
from PIL import Image
from serving import ServerProcess, png, scene_request
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from pixels_cli.main import main
from pixels_client import AuthError, Client
from pixels_contract import messages as protocol

TOKEN = "fuzz-secret-token"
MAX_FRAME = 300_000
MAX_PIXELS = 200 * 200
FRAME_TIMEOUT = 1.5


@pytest.fixture(scope="module")
def guarded():
    process = ServerProcess(
        "--token",
        TOKEN,
        "--max-pixels",
        str(MAX_PIXELS),
        "--max-frame-bytes",
        str(MAX_FRAME),
        "--frame-timeout",
        str(FRAME_TIMEOUT),
    )
    yield process
    process.stop()


class Raw:
    """A bare websocket to the edit channel, to send what no proper client would."""

    def __init__(self, url: str, token: str | None = TOKEN, hello: bool = True, **kwargs):
        headers = {"Authorization": f"Bearer {token}"} if token is not None else None
        self.ws = connect(url + protocol.EDIT_PATH, additional_headers=headers, **kwargs)
        self.sent = 0
        if hello:
            self.send({"type": "hello", "protocol": protocol.PROTOCOL_VERSION})
            assert self.recv()["type"] == "welcome"
            self.sent = 0

    def send(self, message) -> None:
        self.ws.send(message if isinstance(message, str | bytes) else json.dumps(message))
        self.sent += 1

    def recv(self) -> dict:
        message = json.loads(self.ws.recv(timeout=30))
        for _ in range(message.get("frames", 0)):
            self.ws.recv(timeout=30)
        return message

    def error(self, code: str | None = None, field: str | None = None) -> dict:
        """The next error (skipping the queued/started of a job that fails in the worker)."""
        message = self.recv()
        while message["type"] in ("queued", "started"):
            message = self.recv()
        assert message["type"] == "error", message
        assert code is None or message["code"] == code, message
        assert field is None or message["field"] == field, message
        assert message["message"]  # every error says what is wrong
        return message

    def close(self) -> None:
        self.ws.close()


def png_header(width: int, height: int) -> bytes:
    """A PNG that claims a size (a decompression bomb needs no more than this header)."""
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6, 0, 0, 0)
    chunk = struct.pack(">I", len(ihdr)) + b"IHDR" + ihdr
    return b"\x89PNG\r\n\x1a\n" + chunk + struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))


def deflate_bomb(side: int) -> bytes:
    """A real, complete PNG of side x side black pixels: a few KB that inflate to MBs."""
    out = io.BytesIO()
    Image.new("L", (side, side)).save(out, format="PNG", optimize=True)
    return out.getvalue()


WRONG = {
    "prompt": [1, None, ["a"], "x" * 2001, "a lake \ud800", "\udfff"],
    "negative_prompt": [2.5, {"a": 1}],
    "guidance": ["5", None, True, 1e400, -1, 51, [5]],
    "strength": ["0.5", 0, 1.5, False, None],
    "steps": ["many", 0, -3, 151, 2.5, True, 10**30, None],
    "seed": ["7", -1, 2**32, 2**64, 1.5, [1]],
    "threshold": ["zigzag", 3, None],
    "mode": ["parallel", 1],
    "transition": [-1, "wide", None, 1025, 1e308],
    "invert": [1, "yes", None],
    "levels": [[0.9, 0.1], [0.5], "0,1", [0, "1"], None, [0, 1, 2]],
    "gamma": [0, -1, "2"],
    "grow": [1.5, "3", None, 257, -(10**9), 10**12],
    "feather": [-2, "soft", 257, 1e300],
    "context": [-0.1, 3, "wide"],
    "quantise": [1, -4, "8"],
}


def test_fuzz_hostile_messages_then_a_valid_edit(guarded):
    rng = random.Random(1234)
    request = scene_request(64)
    with Client(guarded.url, token=TOKEN) as client:
        before = client.submit(request).result(timeout=120)
    source = png(np.ones((64, 64, 4), np.float32))
    layer = request.exemplars[0].image
    count = 0

    # Refused at the door: bad tokens, foreign origins (HTTP 401 / 403, no connection).
    for token in [None, "", "wrong", TOKEN[:-1], TOKEN + "x", TOKEN.upper(), "Bearer " + TOKEN]:
        with pytest.raises(InvalidStatus) as refused:
            Raw(guarded.url, token=token, hello=False)
        assert refused.value.response.status_code == 401
        count += 1
    for origin in ["http://evil.example", "null", f"http://127.0.0.1:{guarded.port}", "file://"]:
        with pytest.raises(InvalidStatus) as refused:
            Raw(guarded.url, origin=origin, hello=False)
        assert refused.value.response.status_code == 403
        count += 1

    # Wrong handshakes: an error, then the server closes the connection.
    hellos = [{"type": "hello", "protocol": v} for v in (0, 1, 3, "2", None, 2.0, [2], 10**40)] + [
        '{"type": "edit"}',
        "not json",
        b"\x00\x01",
        '{"protocol": 1}',
        "[]",
        "{}",
    ]
    for hello in hellos:
        raw = Raw(guarded.url, hello=False)
        raw.send(hello)
        code = "version_mismatch" if isinstance(hello, dict) else "handshake_required"
        raw.error(code)
        with pytest.raises(ConnectionClosed):
            raw.recv()
        count += raw.sent

    raw = Raw(guarded.url)
    # Not JSON, not an object, unknown types, bad cancels.
    garbage = ["", "{", "}", "nul", '{"type": }', "\x00" * 10, "[1, 2]", "42", '"edit"']
    garbage += [json.dumps({"type": "edit", "frames": []})[:cut] for cut in range(1, 30)]
    garbage += [
        "".join(chr(rng.randrange(32, 127)) for _ in range(rng.randrange(1, 80))) for _ in range(60)
    ]
    for text in garbage:
        raw.send(text)
        raw.error()
    for kind in ["hello", "welcome", "result", "EDIT", "", "x" * 1000, 5, None]:
        raw.send({"type": kind})
        raw.error("bad_message")
    # JSON that is hostile in itself: deep, with a repeated key, huge (over a limit).
    for text in [
        "[" * 30_000 + "]" * 30_000,
        '{"type": "edit", "params": ' + "{" * 30_000 + "}" * 30_000 + "}",
        '{"type": "cancel", "type": "edit"}',
    ]:
        raw.send(text)
        raw.error("bad_message")
    for text in ["[" * 100_000 + "]" * 100_000, '{"type": "edit", "ref": "' + "x" * 70_000 + '"}']:
        raw.send(text)
        raw.error("too_large")
    for job in [None, 5, "", "0" * 32, "../../etc", {"id": 1}, ["x"]]:
        raw.send({"type": "cancel", "job": job})
        raw.error("unknown_job", "job")

    # Every parameter with wrong types and values: refused naming it.
    edit = {"type": "edit", "ref": "f", "frames": ["source", "exemplar"]}
    for name, values in WRONG.items():
        for value in values:
            raw.send({**edit, "params": {name: value}})
            raw.send(source)
            raw.send(layer)
            got = raw.error()
            assert got["field"].startswith("params"), got
            assert got["ref"] == "f"
    raw.send({**edit, "params": {"steps": 3, "strength": 0.2}})  # int(3 x 0.2) == 0 steps
    raw.send(source)
    raw.send(layer)
    raw.error("invalid_field", "params.strength")
    raw.send({**edit, "params": {"colour": 1}})
    raw.send(source)
    raw.send(layer)
    raw.error("invalid_field", "params.colour")
    for params in [[], "steps=3", 7, None]:
        raw.send({**edit, "params": params})
        raw.send(source)
        raw.send(layer)
        raw.error("invalid_field", "params")

    # Frame lists that break the rules.
    for frames in [
        None,
        "source",
        [1],
        [],
        ["source"],
        ["exemplar", "source"],
        ["source", "map"],
        ["source", "global_map", "exemplar"],
        ["source", "exemplar", "map", "map"],
        ["source", "layer"],
        ["source", "source"],
    ]:
        raw.send({"type": "edit", "frames": frames})
        for _ in range(len(frames) if isinstance(frames, list) else 0):
            raw.send(layer)
        assert raw.error("invalid_field")["field"].startswith("frames")
    raw.send({"type": "edit", "frames": ["source"] + ["exemplar"] * 9})
    for _ in range(10):
        raw.send(layer)
    raw.error("too_large", "frames")
    raw.send({"type": "edit", "frames": ["source", "exemplar"], "ref": 5})
    raw.send(source)
    raw.send(layer)
    raw.error("invalid_field", "ref")

    # Broken, hostile and mismatched images.
    bombs = [png_header(100_000, 100_000), png_header(2**31 - 1, 1), deflate_bomb(2000)]
    for bomb in bombs:
        raw.send(edit)
        raw.send(source)
        raw.send(bomb)
        raw.error("too_large", "frames[1]")
    not_png = [
        b"",
        b"GIF89a",
        b"\x89PNG",
        layer[::-1],
        bytes(rng.randrange(256) for _ in range(500)),
    ]
    for frame in not_png + [png_header(0, 64)]:
        raw.send(edit)
        raw.send(frame)
        raw.send(layer)
        raw.error("invalid_field", "frames[0]")
    raw.send(edit)
    raw.send(source)
    raw.send(png(np.zeros((32, 64, 4), np.float32)))
    raw.error("invalid_field", "frames[1]")
    for cut in [30, 60, len(layer) // 3, len(layer) - 40]:  # cut short: fails when decoded
        raw.send(edit)
        raw.send(source)
        raw.send(layer[:cut])
        raw.error("invalid_field", "frames[1]")
    raw.send(edit)
    raw.send(source)
    raw.send("a text message where a frame belongs")
    raw.error("bad_message", "frames[1]")
    for _ in range(5):
        raw.send(b"stray frame")
        raw.error("bad_message")
    # Images announced but never sent: a typed error once the frame timeout passes, and
    # the channel goes on (what comes late is a stray frame).
    raw.send(edit)
    raw.send(source)
    assert "arrived within" in raw.error("timeout", "frames")["message"]
    raw.send(layer)
    raw.error("bad_message")

    # Mutations of a valid (empty) edit: each is refused, never run, never ignored.
    text = json.dumps({"type": "edit", "ref": "m", "frames": [], "params": {"steps": 4}})
    mutated = 0
    while mutated < 250:
        chars = list(text)
        for _ in range(rng.randrange(1, 4)):
            chars[rng.randrange(len(chars))] = chr(rng.randrange(32, 127))
        candidate = "".join(chars)
        try:
            parsed = json.loads(candidate)
            frames = parsed.get("frames") if isinstance(parsed, dict) else None
            if isinstance(frames, list) and frames:
                continue  # the server would wait for frames that never come
        except ValueError:
            pass
        raw.send(candidate)
        raw.error()
        mutated += 1
    count += raw.sent
    raw.close()

    # An oversized frame closes that connection (1009) and nothing else.
    raw = Raw(guarded.url)
    raw.send(edit)
    raw.send(b"\x00" * (MAX_FRAME + 1))
    with pytest.raises(ConnectionClosed) as closed:
        raw.recv()
    assert closed.value.rcvd.code == 1009
    count += raw.sent

    assert count >= 500
    with Client(guarded.url, token=TOKEN) as client:
        after = client.submit(request).result(timeout=120)
    assert after.image == before.image and after.seed == before.seed


def test_huge_values_get_the_answers_of_the_error_table(server):
    raw = Raw(server.url, token=None)
    request = scene_request(48)
    edit = {"type": "edit", "ref": "huge", "frames": ["source", "exemplar"]}
    for params, code in [({"seed": 10**400}, "invalid_field"), ({"steps": 10**9}, "too_large")]:
        raw.send({**edit, "params": params})
        raw.send(request.source)
        raw.send(request.exemplars[0].image)
        assert raw.error(code, f"params.{next(iter(params))}")["ref"] == "huge"
    raw.send({**edit, "params": {"prompt": "x" * 20 * 2**20}})  # its images are not read
    raw.error("too_large", None)
    raw.send({**edit, "params": {"steps": 2}})
    raw.send(request.source)
    raw.send(request.exemplars[0].image)
    assert raw.recv()["type"] == "queued"  # the connection goes on
    raw.close()


def test_the_token_guards_http_and_the_client_says_so(guarded):
    def status_of(path: str, headers: dict | None = None) -> int:
        request = urllib.request.Request(guarded.http + path, headers=headers or {})
        try:
            with urllib.request.urlopen(request, timeout=10) as r:
                return r.status
        except urllib.error.HTTPError as e:
            return e.code

    assert status_of("/health") == 200  # liveness only, open to all
    assert status_of("/v1/info") == 401
    assert status_of("/v1/info?token=wrong") == 401
    assert status_of(f"/?token={TOKEN}") == 200
    assert status_of("/v1/models", {"Authorization": f"Bearer {TOKEN}"}) == 200
    with pytest.raises(AuthError, match="token"):
        Client(guarded.url, token="wrong").connect()
    with Client(guarded.url, token=TOKEN) as client:
        assert client.connect().limits.max_pixels == MAX_PIXELS


def test_other_hosts_need_a_token(capsys, monkeypatch):
    monkeypatch.delenv("PIXELS_TOKEN", raising=False)
    assert main(["serve", "--host", "0.0.0.0", "--port", "0"]) == 2
    assert "token" in capsys.readouterr().err
