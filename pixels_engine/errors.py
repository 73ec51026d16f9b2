"""Errors a user can act on.

Every failure the engine can foresee is raised as `PixelsError` with a message that
names the problem and the fix. When one edit parameter is at fault, `field` is its
schema name and the message does not name it: each front end does, in its own words
(`--grow` in the CLI, `params.grow` on the wire, the control's label in GIMP and Krita).
`Cancelled` is not a failure: it ends a job the user asked to stop.
"""


class PixelsError(Exception):
    """A problem with the user's input or set-up, worded for the user."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.field = field


class Cancelled(Exception):
    """The caller's cancel flag was raised; the edit stopped between two steps."""
