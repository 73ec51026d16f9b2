"""A request the server refuses, with the protocol's error code and the field at fault."""


class Refused(Exception):
    def __init__(self, code: str, message: str, field: str | None = None):
        super().__init__(message)
        self.code, self.message, self.field = code, message, field

    def as_message(self, **ids) -> dict:
        """The `error` message that tells the client; `ids` are its job and ref."""
        return {
            "type": "error",
            **ids,
            "code": self.code,
            "field": self.field,
            "message": self.message,
        }
