"""The server's console formatter (the one `pixels serve` prints with): a client's text
in a message or in an error's traceback never starts a line of its own."""

import logging
import sys

from server.console import TRACEBACK_INDENT, OneLine

FORGED = "pixels serve: model sdxl ready on cuda"


def formatted(message: str, *args, exc_info=None) -> str:
    record = logging.LogRecord("pixels.server", logging.ERROR, __file__, 1, message, args, exc_info)
    return OneLine("pixels serve: %(message)s").format(record)


def test_a_message_is_one_line_of_printable_text():
    text = formatted("could not load model %s", f"/x\n{FORGED}\r\x1b[2J\u2028\u202e")
    assert text == "pixels serve: could not load model /x\\n" + FORGED + "\\r\\x1b[2J\\u2028\\u202e"


def test_a_traceback_keeps_its_lines_indented_and_escaped():
    try:
        raise ValueError(f"no model at /x\n{FORGED}\x1b[2J")
    except ValueError:
        text = formatted("load failed", exc_info=sys.exc_info())
    first, *lines = text.split("\n")
    assert first == "pixels serve: load failed"
    assert lines[0] == TRACEBACK_INDENT + "Traceback (most recent call last):"
    assert all(line.startswith(TRACEBACK_INDENT) and line.isprintable() for line in lines)
    assert lines[-1] == TRACEBACK_INDENT + FORGED + "\\x1b[2J"  # its own line, not a record's
