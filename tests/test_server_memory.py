"""Memory: a job's need is estimated at submit and refused over the server's budget, the
estimate bounds what a real job takes, and running out of memory (a real allocation
failure, made by capping the server's address space once it has loaded its model) is
retried once in low-memory mode, reported, and leaves no trace: the same edit gives the
same bytes afterwards."""

import json
import re
import resource
import time
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from serving import ServerProcess, png, scene_request
from websockets.exceptions import ConnectionClosedError
from websockets.sync.client import connect

from pixels_client import Client, EditRequest, JobError, Layer
from pixels_contract.messages import EDIT_PATH
from pixels_contract.protocol import ClientProtocol
from pixels_engine.budget import job_bytes
from pixels_engine.builtins import TINY_SIZE

MARGIN = 600 * 2**20  # room for small edits and for decoding the big canvas, not editing it
BIG = 3000


def peak_mb(server: ServerProcess) -> int:
    """The server process's peak resident memory, from its status page (MB)."""
    with urllib.request.urlopen(server.http + "/v1/status", timeout=10) as reply:
        return json.loads(reply.read())["memory"]["process peak"]


def reset_peak(pid: int) -> int:
    """Resets the process's peak resident memory to what it holds now (Linux's
    clear_refs), so that a peak read later is this job's, not the model load's; returns it
    in bytes."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")
    return status_bytes(pid, "VmHWM")


def status_bytes(pid: int, key: str) -> int:
    status = Path(f"/proc/{pid}/status").read_text()
    return int(re.search(rf"{key}:\s+(\d+) kB", status).group(1)) * 1024


def canvas_request(side: int, **params) -> EditRequest:
    """A side x side canvas with two exemplars, each with a map: every layer at full size."""
    y, x = np.mgrid[0:side, 0:side] / side
    source = np.dstack([x, y, 1 - x, np.ones_like(x)]).astype(np.float32)
    disc = ((x - 0.5) ** 2 + (y - 0.5) ** 2 < 0.1).astype(np.float32)
    exemplar = np.dstack([y, 1 - y, x, disc]).astype(np.float32)
    layer = Layer(png(exemplar), png(1 - disc))
    return EditRequest(png(source), [layer, layer], params={"steps": 2, "seed": 3, **params})


def test_a_job_over_the_memory_budget_is_refused_at_submit_and_the_estimate_bounds_a_real_one():
    server = ServerProcess("--max-job-memory", "2048")
    try:
        with Client(server.url) as client:
            client.submit(scene_request(64)).result(timeout=120)  # the model's own memory
            with pytest.raises(JobError) as refused:
                client.submit(canvas_request(4000))
            assert refused.value.code == "too_large" and refused.value.field == "frames"
            assert "2.0 GB per job" in str(refused.value) and "4000x4000" in str(refused.value)
            before = reset_peak(server.process.pid)
            request = canvas_request(2000, grow=40, feather=20)
            client.submit(request).result(timeout=300)
            grown = status_bytes(server.process.pid, "VmHWM") - before
            assert peak_mb(server) * 2**20 >= before + grown - 2**20  # what the page reports
        kinds = ["source", "exemplar", "map", "exemplar", "map"]
        encoded = len(request.source) + sum(len(e.image) + len(e.map) for e in request.exemplars)
        estimate = job_bytes((2000, 2000), kinds, request.params, TINY_SIZE, encoded)
        assert 0 < grown <= estimate <= 2048 * 2**20, (grown, estimate)
    finally:
        assert server.stop() == 0


def test_out_of_memory_is_retried_reported_and_leaves_the_next_edit_unchanged():
    server = ServerProcess()
    try:
        with Client(server.url) as client:
            before = client.submit(scene_request(64)).result(timeout=120)
        status = Path(f"/proc/{server.process.pid}/status").read_text()
        size = int(re.search(r"VmSize:\s+(\d+)", status).group(1)) * 1024
        limit = size + MARGIN
        resource.prlimit(server.process.pid, resource.RLIMIT_AS, (limit, limit))
        canvas = png(np.full((BIG, BIG, 4), 0.5, np.float32))
        black = png(np.zeros((BIG, BIG), np.float32))
        request = EditRequest(canvas, [Layer(canvas, black)], params={"steps": 2})
        with Client(server.url) as client:
            with pytest.raises(JobError) as refused:
                client.submit(request).result(timeout=300)
            assert refused.value.code == "out_of_memory", refused.value
            assert f"{BIG}x{BIG}" in str(refused.value)
            after = client.submit(scene_request(64)).result(timeout=120)
            assert client.connect().model["low_memory"] is False
        assert any("retrying in low-memory mode" in line for line in server.log)
        assert after.image == before.image and not after.low_memory
    finally:
        assert server.stop() == 0


def raw_client(server: ServerProcess, **options):
    """A WebSocket with the handshake done, that reads only when told (websockets stops
    reading the socket once `max_queue` messages wait)."""
    url = server.url + EDIT_PATH
    ws = connect(url, compression=None, max_size=None, ping_interval=None, **options)
    ws.send(ClientProtocol().hello()[0])
    assert json.loads(ws.recv(timeout=30))["type"] == "welcome"
    return ws


def clients_connected(server: ServerProcess) -> int:
    with urllib.request.urlopen(server.http + "/v1/status", timeout=10) as reply:
        return json.loads(reply.read())["clients"]


def test_a_client_that_never_reads_is_dropped_within_its_send_budget():
    """Its jobs' messages pile up unread: at --max-send-memory (or once it has taken
    nothing for the keepalive timeout) the server drops it and cancels its jobs, so its
    memory stays within the running job's estimate and that budget."""
    server = ServerProcess("--max-send-memory", "24")
    try:
        with Client(server.url) as client:
            client.submit(scene_request(64)).result(timeout=120)
        request = canvas_request(1024)
        ws = raw_client(server, max_queue=1)
        before = reset_peak(server.process.pid)
        for ref in range(16):
            for frame in ClientProtocol().edit(request, ref=str(ref)):
                ws.send(frame)
        deadline = time.monotonic() + 300
        while clients_connected(server) and time.monotonic() < deadline:
            time.sleep(1)
        assert clients_connected(server) == 0, "the client that never reads is still connected"
        assert any("dropping" in line for line in server.log)
        grown = status_bytes(server.process.pid, "VmHWM") - before
        with pytest.raises(ConnectionClosedError):  # what it had not read is lost with it
            while True:
                ws.recv(timeout=30)
        kinds = ["source", "exemplar", "map", "exemplar", "map"]
        result = 4 * 1024 * 1024 + 2**20  # one result waiting beyond the budget: RGBA, stored
        budget = job_bytes((1024, 1024), kinds, request.params, TINY_SIZE) + 24 * 2**20 + result
        print(f"never-reading: peak grew {grown / 2**20:.0f} MB, budget {budget / 2**20:.0f} MB")
        assert grown <= budget, (grown, budget)
    finally:
        assert server.stop() == 0


def test_half_sent_edits_hold_no_more_than_the_upload_budget_together():
    """Three clients each send 16 of 17 announced images and stop: together they may
    hold --max-upload-memory; past it an edit is refused at once (queue_full, field
    frames), the rest of its images are read and dropped, and the connection goes on."""
    frame, limit = bytes(6 * 2**20), 128 * 2**20
    names = ["source"] + ["exemplar", "map"] * 8
    edit = json.dumps({"type": "edit", "ref": "half", "frames": names})
    server = ServerProcess("--max-upload-memory", "128", "--frame-timeout", "600")
    try:
        clients = [raw_client(server) for _ in range(3)]
        settled = status_bytes(server.process.pid, "VmRSS")
        pongs = []
        for ws in clients:
            ws.send(edit)
            for _ in range(16):
                ws.send(frame)
            pongs.append(ws.ping())
        assert all(pong.wait(60) for pong in pongs)  # every image before has been read
        held = status_bytes(server.process.pid, "VmRSS") - settled
        print(f"half-sent: {held / 2**20:.0f} MB held, budget {limit / 2**20:.0f} MB")
        assert held <= limit + 32 * 2**20, (held, limit)
        answers = []
        for ws in clients:  # a text message ends a pending edit; a refused one is over
            ws.send(json.dumps({"type": "cancel", "job": "none"}))
            answers.append(json.loads(ws.recv(timeout=30)))
            if answers[-1]["code"] == "queue_full":  # in step: its other images dropped
                assert json.loads(ws.recv(timeout=30))["code"] == "unknown_job"
        codes = sorted(answer["code"] for answer in answers)
        assert codes == ["bad_message", "queue_full", "queue_full"], answers
        assert all(a["field"] == "frames" for a in answers if a["code"] == "queue_full")
        for ws in clients:
            ws.close()
    finally:
        assert server.stop() == 0


def thin_request(width: int, height: int) -> EditRequest:
    """A canvas one or two pixels across, edited all along: the model's window is padded
    to its shape, many times the canvas's own area."""
    source = np.full((height, width, 4), 0.5, np.float32)
    exemplar = np.ones((height, width, 4), np.float32)
    black = np.zeros((height, width), np.float32)
    return EditRequest(png(source), [Layer(png(exemplar), png(black))], params={"steps": 2})


def test_a_thin_canvas_stays_within_its_estimate_or_is_refused_naming_its_shape():
    """Its estimate counts the window padded to the bucket's shape, and `grow` costs no
    height x (width + height) shear: a thin edit that fits the budget takes no more than
    its estimate; one that does not is refused before any work, saying why."""
    server = ServerProcess("--max-job-memory", "3072")
    try:
        with Client(server.url) as client:
            client.submit(scene_request(64)).result(timeout=120)
            for width, height in ((1, 8192), (8192, 2)):
                request = thin_request(width, height)
                request.params["grow"] = 40
                before = reset_peak(server.process.pid)
                client.submit(request).result(timeout=300)
                grown = status_bytes(server.process.pid, "VmHWM") - before
                encoded = len(request.source) + sum(
                    len(e.image) + len(e.map) for e in request.exemplars
                )
                kinds = ["source", "exemplar", "map"]
                estimate = job_bytes((width, height), kinds, request.params, TINY_SIZE, encoded)
                print(
                    f"{width}x{height}: grew {grown / 2**20:.0f} MB, estimate "
                    f"{estimate / 2**20:.0f} MB"
                )
                assert 0 < grown <= estimate <= 3072 * 2**20, (width, height, grown, estimate)
            with pytest.raises(JobError) as refused:
                client.submit(thin_request(1, 24576))
            assert refused.value.code == "too_large" and refused.value.field == "frames"
            assert "1x24576 canvas" in str(refused.value) and "this thin" in str(refused.value)
    finally:
        assert server.stop() == 0


def load_state(server: ServerProcess) -> dict:
    with urllib.request.urlopen(server.http + "/v1/models/load", timeout=10) as reply:
        return json.loads(reply.read())


def test_a_model_load_that_cannot_fit_is_refused_before_it_takes_memory(monkeypatch):
    """sdxl-random's fp32 weights (13 GB) under a cap with 4 GB left: the load fails at
    once, naming both figures, without taking the memory first; the old model serves.
    (The cap is on address space, which counts blocks glibc keeps after freeing them
    under its moving mmap threshold: a fixed one gives them back.)"""
    monkeypatch.setenv("MALLOC_MMAP_THRESHOLD_", str(2**20))
    server = ServerProcess()
    try:
        pid = server.process.pid
        limit = status_bytes(pid, "VmSize") + 4 * 2**30
        resource.prlimit(pid, resource.RLIMIT_AS, (limit, limit))
        before = reset_peak(pid)
        url = server.http + "/v1/models/load?name=sdxl-random&device=cpu&dtype=fp32"
        with urllib.request.urlopen(urllib.request.Request(url, method="POST"), timeout=10):
            pass
        deadline = time.monotonic() + 300
        while load_state(server)["state"] in ("waiting", "loading"):
            assert time.monotonic() < deadline, "the load neither failed nor finished"
            time.sleep(0.5)
        state = load_state(server)
        grown = status_bytes(pid, "VmHWM") - before
        print(f"model load: peak grew {grown / 2**20:.0f} MB; {state['error']}")
        assert state["state"] == "failed" and "sdxl-random needs about" in state["error"]
        assert "GB is free" in state["error"]
        assert grown < 2**30, grown
        with Client(server.url) as client:
            assert client.submit(scene_request(64)).result(timeout=120).steps_run == 2
    finally:
        assert server.stop() == 0
