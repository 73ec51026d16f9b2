"""docs/protocol.md is enough to write a client: it states what the contract says, and
these tests fail when the document and the contract disagree."""

import re
from dataclasses import fields
from pathlib import Path

from pixels_contract import messages, schema

DOC = (Path(__file__).resolve().parent.parent / "docs" / "protocol.md").read_text()


def test_the_parameter_table_is_the_schemas():
    table = re.search(r"<!-- params:begin -->\n(.*?)\n<!-- params:end -->", DOC, re.S)
    assert table is not None, "docs/protocol.md lost its parameter table markers"
    assert table.group(1) == schema.table(), (
        "docs/protocol.md's parameter table differs from pixels_contract/schema.py; paste "
        "the output of `python -m pixels_contract.schema` between the markers"
    )


def test_the_welcome_example_lists_every_limit_and_the_version():
    welcome = re.search(r'"limits": \{(.*?)\}', DOC, re.S).group(1)
    assert set(re.findall(r'"(\w+)":', welcome)) == {f.name for f in fields(messages.Limits)}
    assert f"version {messages.PROTOCOL_VERSION}" in DOC.splitlines()[0]
    assert f'"protocol": {messages.PROTOCOL_VERSION}' in DOC


def test_every_error_code_of_the_channel_is_explained():
    codes = {
        getattr(messages, name)
        for name in dir(messages)
        if name.isupper() and isinstance(getattr(messages, name), str)
    } & set(re.findall(r"^\| `(\w+)` \|", DOC, re.M))
    channel = {
        messages.BAD_MESSAGE, messages.HANDSHAKE_REQUIRED, messages.VERSION_MISMATCH,
        messages.INVALID_FIELD, messages.TOO_LARGE, messages.TIMEOUT, messages.QUEUE_FULL,
        messages.UNKNOWN_JOB, messages.MODEL_UNAVAILABLE, messages.OUT_OF_MEMORY,
        messages.EDIT_FAILED, messages.SHUTTING_DOWN,
    }  # fmt: skip
    assert channel <= codes


def test_the_roles_conventions_and_bounds_are_stated():
    for role in (messages.SOURCE, messages.EXEMPLAR, messages.MAP, messages.GLOBAL_MAP):
        assert f"`{role}`" in DOC
    assert schema.MAP_CONVENTION.split(",")[0] in DOC  # white keeps the source
    assert str(schema.SEED_MAX) in DOC
    assert str(messages.MAX_TEXT_BYTES) in DOC and f"most {messages.MAX_DEPTH} levels" in DOC
    assert f"every {messages.KEEPALIVE_INTERVAL:g} s" in DOC
