"""The HTTP side of a real `pixels serve`, sent exactly the bytes a hostile client would
(raw sockets): every answer has one Content-Length that counts its body, HEAD has no
body, malformed heads are refused with the JSON error of docs/protocol.md, bodies are
read and bounded, tokens, origins and hosts are checked on HTTP and on the WebSocket
upgrade alike; and the server still edits afterwards.

The server closes each plain HTTP connection after its answer, so a reply is read to
the end of the stream: a body byte after HEAD, or a second answer, would show."""

import json
import re
import socket
import threading
import time
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
from serving import ServerProcess, scene_request
from websockets.sync.client import connect

from pixels_client import Client, JobError
from pixels_contract import messages, schema
from server import exchange as server_exchange
from server import refusals, routes

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "http-secret-token"
READ_TIMEOUT = 30  # seconds: only against hangs; the server's own limit is 10 s
MISSING_MODEL = "/nonexistent/model.safetensors"


DOC = (ROOT / "docs" / "protocol.md").read_text()
HTTP_SECTION = DOC[DOC.index("\n## HTTP") : DOC.index("\n## Versioning")]
# (status, code) of each row of its error table
DOCUMENTED = {
    (int(status), code)
    for status, code in re.findall(r"^\| (\d{3}) \| `(\w+)` \|", HTTP_SECTION, re.M)
}


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]  # lower-case names, in order
    body: bytes

    def header(self, name: str) -> str:
        """The one value of `name`; fails if it is missing or repeated."""
        values = [v for n, v in self.headers if n == name]
        assert len(values) == 1, (name, self.headers)
        return values[0]

    def json(self):
        assert self.header("content-type") == "application/json"
        return json.loads(self.body)


def exchange(port: int, data: bytes, then: bytes | None = None) -> Reply:
    """Send `data`, read until the server closes, split head and body. With `then`, send
    it after the server's interim answer (100 Continue), and read the final one."""
    with socket.create_connection(("127.0.0.1", port), timeout=READ_TIMEOUT) as sock:
        sock.sendall(data)
        if then is not None:
            interim = read_head(sock)
            assert interim.startswith(b"HTTP/1.1 100 "), interim
            sock.sendall(then)
        received = read_all(sock)
    head, blank, body = received.partition(b"\r\n\r\n")
    assert blank, received[:300]
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = [(n.strip().lower(), v.strip()) for n, v in (line.split(":", 1) for line in lines)]
    return Reply(int(status_line.split()[1]), headers, body)


def read_head(sock: socket.socket) -> bytes:
    data = b""
    while not data.endswith(b"\r\n\r\n"):
        chunk = sock.recv(1)
        assert chunk, data
        data += chunk
    return data


def read_all(sock: socket.socket) -> bytes:
    chunks = []
    while chunk := sock.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def http(port: int, method: str, target: str, *headers: str, body: bytes = b"") -> bytes:
    """The bytes of a request with this server's Host and the given header lines."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: 127.0.0.1:{port}", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def upgrade(port: int, target: str = messages.EDIT_PATH, *headers: str) -> bytes:
    """A WebSocket upgrade request, as a WebSocket client sends it."""
    return http(
        port,
        "GET",
        target,
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
        *headers,
    )


def get(port: int, target: str, *headers: str) -> Reply:
    return exchange(port, http(port, "GET", target, *headers))


def assert_framed(reply: Reply) -> None:
    """One Content-Length, and it counts the body that came."""
    assert int(reply.header("content-length")) == len(reply.body)


def assert_error(reply: Reply, status: int, code: str, field: str | None = None) -> dict:
    """The JSON error of docs/protocol.md, with a status and code its table lists."""
    assert reply.status == status, (reply.status, reply.body[:300])
    assert_framed(reply)
    error = reply.json()
    assert set(error) == {"code", "message", "field"}
    assert error["code"] == code and error["field"] == field, error
    assert isinstance(error["message"], str) and error["message"]
    assert (status, code) in DOCUMENTED, f"docs/protocol.md lists no {status} {code}"
    return error


def load(port: int, query: str = "", body: bytes = b"", *headers: str) -> Reply:
    """POST /v1/models/load, with a JSON body if one is given."""
    if body:
        headers = ("Content-Type: application/json", f"Content-Length: {len(body)}", *headers)
    return exchange(port, http(port, "POST", "/v1/models/load" + query, *headers, body=body))


@pytest.fixture(scope="module")
def guarded():
    process = ServerProcess("--token", TOKEN)
    yield process
    process.stop()


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory):
    """A server started in a folder of the user's own files, a `static` folder among them."""
    folder = tmp_path_factory.mktemp("started-here")
    (folder / "static").mkdir()
    (folder / "static" / "secret.txt").write_text("the user's secret")
    process = ServerProcess(cwd=folder)
    yield process
    process.stop()


def test_the_document_states_the_codes_and_bounds_of_the_server():
    codes = {v for k, v in vars(messages).items() if k.isupper() and isinstance(v, str)}
    assert DOCUMENTED and {code for _, code in DOCUMENTED} <= codes
    words = " ".join(HTTP_SECTION.split())
    bounds = (
        f"at most {server_exchange.MAX_HEAD_BYTES // 1024} KiB",
        f"{server_exchange.MAX_HEADERS} headers",
        f"at most {server_exchange.MAX_BODY_BYTES // 1024} KiB",
        f"within {server_exchange.REQUEST_TIMEOUT:g} s",
        f"1 to {routes.MAX_MODEL_NAME} characters",
        refusals.CHALLENGE,
    )
    for bound in bounds:
        assert bound in words, bound
    assert "`http://[::1]:PORT`" in DOC  # one of the server's own origins


@pytest.mark.parametrize("path", ["/health", "/v1/info", "/v1/schema", "/"])
def test_one_content_length_and_head_without_body(server, path):
    # The status page shows the uptime, which may tick between two requests: the
    # lengths agree on one of three tries or HEAD is wrong.
    lengths = []
    for _ in range(3):
        head = exchange(server.port, http(server.port, "HEAD", path))
        got = get(server.port, path)
        assert head.status == got.status == 200
        assert head.body == b""  # the server closed right after the headers
        assert_framed(got)
        lengths.append((int(head.header("content-length")), len(got.body)))
        if lengths[-1][0] == lengths[-1][1]:
            break
    assert any(h == g > 0 for h, g in lengths), lengths
    assert head.header("content-type") == got.header("content-type")


@pytest.mark.parametrize(
    "lines",
    [
        ["Content-Length: 2", "Content-Length: 2"],  # equal: h11 would merge them
        ["Content-Length: 2", "Content-Length: 3"],
        ["Content-Length: 2, 2"],
        ["Content-Length: +2"],
        ["Content-Length: 2", "Transfer-Encoding: chunked"],
        ["Transfer-Encoding: gzip"],
    ],
)
def test_repeated_or_ambiguous_lengths_are_400(server, lines):
    data = http(server.port, "POST", "/v1/models/load", *lines, body=b"{}")
    assert_error(exchange(server.port, data), 400, messages.BAD_REQUEST)


@pytest.mark.parametrize("header", ["Host: 127.0.0.1:{port}", "Origin: http://127.0.0.1:{port}"])
def test_a_header_sent_twice_is_400_on_http_and_on_the_upgrade(server, header):
    line = header.format(port=server.port)
    assert_error(get(server.port, "/health", line, line), 400, messages.BAD_REQUEST)
    plain = upgrade(server.port, messages.EDIT_PATH, line, line)
    assert_error(exchange(server.port, plain), 400, messages.BAD_REQUEST)


@pytest.mark.parametrize(
    "data",
    [
        b"GARBAGE\r\n\r\n",
        b"GET /health\r\n\r\n",  # no version
        b"GET /health HTTP/2.0\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /health HTTP/1.1\r\n\r\n",  # no Host
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nno colon here\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nX: a\r\n folded\r\n\r\n",
        b"GET /health HTTP/1.1\nHost: 127.0.0.1\n\n",  # bare LF
        b"GET http://127.0.0.1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",  # a URL
        b"GET /h\xe9alth HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
        b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nBad Name: x\r\n\r\n",
        b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(40),  # a TLS hello
    ],
)
def test_malformed_requests_are_400(server, data):
    assert_error(exchange(server.port, data), 400, messages.BAD_REQUEST)


def test_oversized_heads_are_431(server):
    long_header = get(server.port, "/health", "X-Long: " + "a" * 20_000)
    assert_error(long_header, 431, messages.TOO_LARGE)
    many = [f"X-{i}: {i}" for i in range(150)]
    assert_error(get(server.port, "/health", *many), 431, messages.TOO_LARGE)
    # A head that never ends is refused as soon as it passes the bound.
    endless = http(server.port, "GET", "/health").removesuffix(b"\r\n") + b"X: y\r\n" * 2000
    assert_error(exchange(server.port, endless), 431, messages.TOO_LARGE)


def test_bodies_over_the_bound_are_413(server):
    announced = http(server.port, "POST", "/v1/models/load", "Content-Length: 100000")
    assert_error(exchange(server.port, announced), 413, messages.TOO_LARGE)
    chunks = b"".join(b"4000\r\n" + b"x" * 0x4000 + b"\r\n" for _ in range(5)) + b"0\r\n\r\n"
    chunked = http(server.port, "POST", "/v1/models/load", "Transfer-Encoding: chunked")
    assert_error(exchange(server.port, chunked + chunks), 413, messages.TOO_LARGE)


def test_requests_that_never_finish_time_out_with_408(server):
    """The head, or a body shorter than announced: 408 once the 10 s are up (read on
    two connections at once)."""
    unfinished = {
        "head": http(server.port, "GET", "/health").removesuffix(b"\r\n"),
        "body": http(server.port, "POST", "/v1/models/load", "Content-Length: 10", body=b"{}"),
    }
    replies = {}

    def send(name: str) -> None:
        replies[name] = exchange(server.port, unfinished[name])

    threads = [threading.Thread(target=send, args=(name,)) for name in unfinished]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(READ_TIMEOUT + 5)
    assert set(replies) == set(unfinished)
    for reply in replies.values():
        assert_error(reply, 408, messages.TIMEOUT)


def test_pages_that_do_not_exist_or_take_another_method(server):
    assert_error(get(server.port, "/nowhere"), 404, messages.NOT_FOUND)
    assert_error(get(server.port, "/v1/info%3Fx"), 404, messages.NOT_FOUND)
    wrong = exchange(server.port, http(server.port, "DELETE", "/health"))
    assert_error(wrong, 405, messages.METHOD_NOT_ALLOWED)
    assert "GET" in wrong.header("allow")
    post = exchange(server.port, http(server.port, "POST", "/v1/info", "Content-Length: 0"))
    assert_error(post, 405, messages.METHOD_NOT_ALLOWED)
    plain = get(server.port, messages.EDIT_PATH)
    assert_error(plain, 426, messages.BAD_REQUEST)
    assert plain.header("upgrade") == "websocket"
    assert_error(exchange(server.port, upgrade(server.port, "/v1/info")), 404, messages.NOT_FOUND)


def test_the_routes_are_the_documented_ones():
    """No static folder, no automatic OPTIONS: each method and path the routes take is
    one docs/protocol.md lists (HEAD goes with GET)."""
    documented = set(re.findall(r"`(GET|POST) (/[^`?\s]*)", HTTP_SECTION))
    rules = routes.create_app(server=None).url_map.iter_rules()
    assert {
        (method, rule.rule) for rule in rules for method in rule.methods - {"HEAD"}
    } == documented


def test_no_files_of_the_folder_the_server_started_in(elsewhere):
    for path in ("/static/secret.txt", "/static/", "/secret.txt"):
        reply = get(elsewhere.port, path)
        assert_error(reply, 404, messages.NOT_FOUND)
        assert b"the user's secret" not in reply.body


@pytest.mark.parametrize(
    "path, allowed",
    [("/health", "GET, HEAD"), ("/v1/models/load", "GET, HEAD, POST"), ("/", "GET, HEAD")],
)
def test_options_is_a_method_not_allowed(server, path, allowed):
    reply = exchange(server.port, http(server.port, "OPTIONS", path))
    assert_error(reply, 405, messages.METHOD_NOT_ALLOWED)
    assert reply.header("allow") == allowed


def test_malformed_upgrades_get_json_too(server):
    asked = ["Upgrade: websocket", "Connection: Upgrade"]  # no Sec-WebSocket-Key
    no_key = http(server.port, "GET", messages.EDIT_PATH, *asked)
    assert_error(exchange(server.port, no_key), 400, messages.BAD_REQUEST)
    with_body = upgrade(server.port, messages.EDIT_PATH, "Content-Length: 2") + b"{}"
    assert_error(exchange(server.port, with_body), 400, messages.BAD_REQUEST)


def missing_device() -> str:
    """A device torch knows but this machine lacks."""
    if not torch.cuda.is_available():
        return "cuda"
    if not torch.backends.mps.is_available():
        return "mps"
    pytest.fail("this machine has every device")


def test_model_load_fields_are_checked_at_once(server):
    port = server.port
    before = get(port, "/v1/models/load").json()
    cases = [
        (f"?name=tiny&device={missing_device()}", b"", "device"),
        ("?name=tiny&device=tpu", b"", "device"),
        ("?name=tiny&device=cpu&dtype=fp16", b"", "dtype"),
        ("?name=tiny&dtype=fp64", b"", "dtype"),
        ("", json.dumps({"name": "tiny", "device": "tpu"}).encode(), "device"),
        ("", json.dumps({"name": "tiny", "dtype": 16}).encode(), "dtype"),
        ("", json.dumps({"name": "tiny", "steps": 3}).encode(), "steps"),
        ("?name=tiny", json.dumps({"name": "tiny"}).encode(), "name"),
        ("?name=", b"", "name"),
        ("?name=%20%20", b"", "name"),
        (f"?name={'x' * 1001}", b"", "name"),
        ("", json.dumps({"device": "cpu"}).encode(), "name"),
        ("", json.dumps({"name": ["tiny"]}).encode(), "name"),
    ]
    for query, body, field in cases:
        assert_error(load(port, query, body), 400, messages.INVALID_FIELD, field)
    for body in (b"[1, 2]", b"not json", b"\xff\xfe", b"[" * 50_000):
        assert_error(load(port, "", body), 400, messages.BAD_REQUEST)
    assert get(port, "/v1/models/load").json() == before  # nothing was started
    with Client(server.url) as client, pytest.raises(JobError) as refused:
        client.load_model("tiny", device="tpu")
    assert refused.value.code == messages.INVALID_FIELD and refused.value.field == "device"


def test_a_load_field_given_twice_is_refused(server):
    before = get(server.port, "/v1/models/load").json()
    cases = [
        (f"?name=tiny&name={MISSING_MODEL}", b"", "name"),
        ("?name=tiny&device=cpu&device=auto", b"", "device"),
        ("", f'{{"name": "tiny", "name": "{MISSING_MODEL}"}}'.encode(), "name"),
        ("?dtype=auto", b'{"name": "tiny", "dtype": "auto"}', "dtype"),
    ]
    for query, body, field in cases:
        error = assert_error(load(server.port, query, body), 400, messages.INVALID_FIELD, field)
        assert "once" in error["message"]
    assert get(server.port, "/v1/models/load").json() == before  # nothing was started


def wait_for(predicate, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.2)


def load_state(port: int) -> str:
    return get(port, "/v1/models/load").json()["state"]


def test_health_describes_the_serving_model_after_a_failed_load(server):
    body = json.dumps({"name": MISSING_MODEL, "device": "cpu", "dtype": "auto"}).encode()
    started = load(server.port, "", body)
    assert started.status == 202 and started.json()["name"] == MISSING_MODEL
    wait_for(lambda: get(server.port, "/v1/models/load").json()["state"] == "failed")
    health = get(server.port, "/health").json()
    assert health["ok"] is True
    assert health["model"]["name"] == "tiny" and health["model"]["state"] == "ready"
    assert health["model"] == get(server.port, "/v1/info").json()["model"]  # device, dtype...
    assert health["load"]["name"] == MISSING_MODEL and health["load"]["state"] == "failed"
    assert MISSING_MODEL in health["load"]["error"]


def test_a_load_name_cannot_write_lines_on_the_server_console(elsewhere):
    forged = "pixels serve: model sdxl ready on cuda (torch.float16)"
    name = f"/nonexistent\n{forged}\r\x1b[2J\u2028x"
    wait_for(lambda: load_state(elsewhere.port) in ("ready", "failed"))
    assert load(elsewhere.port, "", json.dumps({"name": name}).encode()).status == 202
    wait_for(lambda: load_state(elsewhere.port) == "failed")
    wait_for(lambda: any("could not load model /nonexistent" in line for line in elsewhere.log))
    lines = "".join(elsewhere.log).splitlines()
    assert not any(line.startswith(forged) for line in lines)
    (logged,) = [line for line in lines if "could not load model /nonexistent" in line]
    assert f"/nonexistent\\n{forged}\\r\\x1b[2J\\u2028x" in logged
    assert all(c.isprintable() for c in logged)


def test_load_errors_tell_nothing_of_the_server_disk(elsewhere, tmp_path):
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "a-file").write_text("not a model")
    folders = [str(tmp_path / name) for name in ("a-folder", "a-file", "nothing-here")]
    for names in (folders, ["~root/nothing-here", "~no-such-user/nothing-here"]):
        errors = set()
        for name in names:
            wait_for(lambda: load_state(elsewhere.port) in ("ready", "failed"))
            assert load(elsewhere.port, "", json.dumps({"name": name}).encode()).status == 202
            wait_for(lambda: load_state(elsewhere.port) == "failed")
            error = get(elsewhere.port, "/v1/models/load").json()["error"]
            errors.add(error.replace(name, "NAME"))
        assert len(errors) == 1, errors


def test_a_chunked_body_is_read(server):
    body = json.dumps({"name": "tiny", "device": "tpu"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (body[:7], body[7:]))
    head = http(server.port, "POST", "/v1/models/load", "Transfer-Encoding: chunked")
    reply = exchange(server.port, head + chunks + b"0\r\n\r\n")
    assert_error(reply, 400, messages.INVALID_FIELD, "device")  # not "name missing"


def test_a_body_after_100_continue(server):
    body = json.dumps({"name": MISSING_MODEL}).encode()
    head = http(server.port, "POST", "/v1/models/load", "Expect: 100-continue")
    head = head.removesuffix(b"\r\n") + f"Content-Length: {len(body)}\r\n\r\n".encode()
    wait_for(lambda: get(server.port, "/v1/models/load").json()["state"] in ("ready", "failed"))
    reply = exchange(server.port, head, then=body)
    assert reply.status == 202 and reply.json()["name"] == MISSING_MODEL
    wait_for(lambda: get(server.port, "/v1/models/load").json()["state"] == "failed")


def test_the_schema_for_other_languages(server):
    reply = get(server.port, "/v1/schema")
    assert reply.status == 200
    assert reply.json() == json.loads(json.dumps(schema.as_json("sd")))  # the tiny model's
    flux = get(server.port, "/v1/schema?family=flux-schnell").json()
    assert flux["family"] == "flux-schnell" and "guidance" in flux["unused"]
    assert_error(get(server.port, "/v1/schema?family=dalle"), 400, messages.INVALID_FIELD, "family")


def test_origins_and_hosts(server):
    port = server.port
    for origin in (f"http://127.0.0.1:{port}", f"http://localhost:{port}", f"http://[::1]:{port}"):
        assert get(port, "/v1/info", f"Origin: {origin}").status == 200
        refused = exchange(port, upgrade(port, messages.EDIT_PATH, f"Origin: {origin}"))
        assert_error(refused, 403, messages.FORBIDDEN, "Origin")  # browsers: never
    for origin in ("http://evil.example", "null", f"https://127.0.0.1:{port}"):
        assert_error(get(port, "/v1/info", f"Origin: {origin}"), 403, messages.FORBIDDEN, "Origin")
    for host in (f"[::1]:{port}", f"LOCALHOST:{port}"):
        data = http(port, "GET", "/v1/info").replace(f"127.0.0.1:{port}".encode(), host.encode())
        assert exchange(port, data).status == 200
    for host in (f"evil.example:{port}", "127.0.0.1", f"127.0.0.1:{port + 1}"):
        data = http(port, "GET", "/v1/info").replace(f"127.0.0.1:{port}".encode(), host.encode())
        assert_error(exchange(port, data), 403, messages.FORBIDDEN, "Host")
        rebound = upgrade(port).replace(f"127.0.0.1:{port}".encode(), host.encode())
        assert_error(exchange(port, rebound), 403, messages.FORBIDDEN, "Host")


def assert_unauthorized(reply: Reply) -> None:
    assert_error(reply, 401, messages.UNAUTHORIZED, messages.TOKEN_HEADER)
    assert reply.header("www-authenticate") == 'Bearer realm="pixels"'


def test_the_token_on_http_pages(guarded):
    port = guarded.port
    assert get(port, "/health").status == 200  # liveness: open to all
    assert exchange(port, http(port, "HEAD", "/health")).status == 200
    for path in ("/v1/info", "/", "/v1/schema", "/v1/models"):
        assert_unauthorized(get(port, path))
    assert_unauthorized(get(port, "/v1/info", "Authorization: Bearer wrong"))
    assert_unauthorized(get(port, "/v1/info", f"Authorization: Basic {TOKEN}"))
    assert_unauthorized(get(port, "/v1/info?token=wrong"))
    assert_unauthorized(load(port, "?name=tiny&device=tpu"))  # the token before the fields
    assert get(port, "/v1/info", f"Authorization: Bearer {TOKEN}").status == 200
    assert get(port, "/v1/info", f"Authorization: bearer {TOKEN}").status == 200
    quoted = urllib.parse.quote(TOKEN)
    assert get(port, f"/?token={quoted}").status == 200  # a browser cannot set headers
    assert get(port, f"/v1/info?token={quoted}").status == 200


def test_the_token_on_the_websocket_only_in_the_header(guarded):
    port = guarded.port
    assert_unauthorized(exchange(port, upgrade(port)))
    assert_unauthorized(exchange(port, upgrade(port, f"{messages.EDIT_PATH}?token={TOKEN}")))
    wrong = upgrade(port, messages.EDIT_PATH, "Authorization: Bearer wrong")
    assert_unauthorized(exchange(port, wrong))
    url = f"{guarded.url}{messages.EDIT_PATH}"
    with connect(url, additional_headers={"Authorization": f"Bearer {TOKEN}"}) as ws:
        ws.send(json.dumps(messages.Hello().to_wire()))
        assert json.loads(ws.recv(timeout=READ_TIMEOUT))["type"] == "welcome"
    with Client(guarded.url, token=TOKEN) as client:
        assert client.models()["current"]["name"] == "tiny"  # HTTP through the client


def test_the_server_still_edits_after_all_that(server):
    assert get(server.port, "/health").json()["model"]["state"] == "ready"
    with Client(server.url) as client:
        result = client.submit(scene_request(64)).result(timeout=120)
    assert result.seed == 11 and result.steps_run == 2
    assert "Traceback" not in "".join(server.log)  # every refusal above was an answer
