"""Running out of memory: a real allocation failure, made by capping the server's address
space once it has loaded its model (Linux). The job is retried once in low-memory mode,
then refused with `out_of_memory`, and the server goes on serving."""

import re
import resource
from pathlib import Path

import numpy as np
import pytest
from serving import ServerProcess, png, scene_request

from pixels_client import Client, EditRequest, JobError, Layer

MARGIN = 600 * 2**20  # room for small edits and for decoding the big canvas, not editing it
BIG = 3000


def test_out_of_memory_is_retried_then_reported_and_the_server_goes_on():
    server = ServerProcess()
    try:
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
            assert client.submit(scene_request(64)).result(timeout=120).seed == 11
        assert any("retrying in low-memory mode" in line for line in server.log)
        with Client(server.url) as client:
            assert client.connect().model["low_memory"] is True
    finally:
        assert server.stop() == 0
