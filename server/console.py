"""What the server prints: one line per record, whatever a client put into it.

Model names, paths and error texts come from clients; printed raw, a newline in one
would start a line the server never wrote, and an escape sequence would drive the
terminal. So each message is printed with such characters escaped (a newline as \\n).
"""

import logging


class OneLine(logging.Formatter):
    """A record's message with its unprintable characters escaped; a traceback after it
    keeps its own lines."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escaped(super().formatMessage(record))


def escaped(text: str) -> str:
    """`text` with control, separator and format characters as Python escapes them."""
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)
