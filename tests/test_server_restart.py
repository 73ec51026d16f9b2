"""Shutting down on a signal, and a client that outlives its server."""

import signal
import socket

import pytest
from serving import LONG, ServerProcess, scene_request

from pixels_client import Client, JobError, Progress, ServerUnavailable


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_restart_and_reconnect():
    port = free_port()
    first = ServerProcess(port=port)
    client = Client(first.url, timeout=5)
    try:
        assert client.submit(scene_request(64)).result(timeout=120).seed == 11
        running = client.submit(scene_request(**LONG))
        for event in running.events(timeout=60):
            if isinstance(event, Progress):
                break
        assert first.stop(signal.SIGTERM) == 0  # clean exit, though a job was running
        with pytest.raises(JobError) as stopped:
            running.result(timeout=30)
        assert stopped.value.code == "shutting_down"
        with pytest.raises(ServerUnavailable):
            client.submit(scene_request(64))  # nobody listening: a clear error, no hang
        second = ServerProcess(port=port)
        try:
            # The same client reconnects by itself on its next request.
            assert client.submit(scene_request(64)).result(timeout=120).seed == 11
            assert client.connected
        finally:
            client.close()
            assert second.stop(signal.SIGINT) == 0
    finally:
        first.stop()
