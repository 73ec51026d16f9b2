"""What can go wrong talking to the server, each worded for the user of a plug-in."""


class ClientError(Exception):
    """Base of every error this package raises."""


class ServerUnavailable(ClientError):
    """No server answers at the address, or the connection was lost."""


class VersionMismatch(ClientError):
    """The server speaks another protocol version."""


class AuthError(ClientError):
    """The server refused the token (or the lack of one), or the request's origin."""


class ProtocolViolation(ClientError):
    """The server sent something the protocol does not allow, or refused the handshake."""


class JobError(ClientError):
    """A request or job the server refused or could not finish; `code` is the
    protocol's error code, `field` the parameter or image at fault, if any."""

    def __init__(self, code: str, message: str, field: str | None = None, job: str | None = None):
        super().__init__(message)
        self.code, self.field, self.job = code, field, job


class JobCancelled(ClientError):
    """The job was cancelled before it finished."""
