"""What the server prints: one line per record, whatever a client put into it.

Model names, paths and error texts come from clients; printed raw, a newline in one
would start a line the server never wrote, and an escape sequence would drive the
terminal. So each message is printed with such characters escaped (a newline as \\n),
and a traceback indented, each of its lines escaped.
"""

import logging

TRACEBACK_INDENT = "  "


class OneLine(logging.Formatter):
    """A record's message with its unprintable characters escaped; a traceback after it
    indented, so that no line of it (an error's text may hold a client's newline) reads
    as a record of its own."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escaped(super().formatMessage(record))

    def formatException(self, exc_info) -> str:
        lines = super().formatException(exc_info).split("\n")
        return "\n".join(TRACEBACK_INDENT + escaped(line) for line in lines)


def escaped(text: str) -> str:
    """`text` with control, separator and format characters as Python escapes them."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
