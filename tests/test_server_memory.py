"""Memory: a job's need is estimated at submit and refused over the server's budget, the
estimate bounds what a real job takes, and running out of memory (a real allocation
failure, made by capping the server's address space once it has loaded its model) is
retried once in low-memory mode, reported, and leaves no trace: the same edit gives the
same bytes afterwards."""

import json
import re
import resource
import urllib.request
from pathlib import Path

import numpy as np
import pytest
from serving import ServerProcess, png, scene_request

from pixels_client import Client, EditRequest, JobError, Layer
from pixels_engine.budget import job_bytes

MARGIN = 600 * 2**20  # room for small edits and for decoding the big canvas, not editing it
BIG = 3000


def peak_mb(server: ServerProcess) -> int:
    """The server process's peak resident memory, from its status page (MB)."""
    with urllib.request.urlopen(server.http + "/v1/status", timeout=10) as reply:
        return json.loads(reply.read())["memory"]["process peak"]


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
            before = peak_mb(server)
            request = canvas_request(2000, grow=40, feather=20)
            client.submit(request).result(timeout=300)
            grown = (peak_mb(server) - before) * 2**20
        kinds = ["source", "exemplar", "map", "exemplar", "map"]
        encoded = len(request.source) + sum(len(e.image) + len(e.map) for e in request.exemplars)
        estimate = job_bytes((2000, 2000), kinds, request.params, encoded)
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
