"""The shared server of the server tests."""

import pytest
from serving import ServerProcess


@pytest.fixture(scope="session")
def server():
    """One server for the tests that need no special limits."""
    process = ServerProcess("--queue-size", "3")
    yield process
    process.stop()
