"""Errors a user can act on.

Every failure the engine can foresee is raised as `PixelsError` with a message that
names the problem and the fix; the CLI and the server show that message and nothing
else. `Cancelled` is not a failure: it ends a job the user asked to stop.
"""


class PixelsError(Exception):
    """A problem with the user's input or set-up, worded for the user."""


class Cancelled(Exception):
    """The caller's cancel flag was raised; the edit stopped between two steps."""
