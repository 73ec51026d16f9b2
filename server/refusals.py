"""What the server refuses over HTTP, and how it says so.

`HTTPError` is the answer to every refused HTTP request and WebSocket upgrade: a status,
the JSON body of docs/protocol.md (`{"code", "message", "field"}`) and the headers the
status calls for (`WWW-Authenticate` on a 401, `Allow` on a 405). `Guard` holds the rules
of that document's Security section: the token, the Origin a web page sends, the Host a
DNS-rebinding page sends.
"""

import hmac
import urllib.parse
from collections.abc import Mapping
from http import HTTPStatus

from pixels_contract.messages import (
    FORBIDDEN,
    LOCAL_HOSTS,
    TOKEN_HEADER,
    UNAUTHORIZED,
    Refusal,
    dumps,
)

from .config import bracketed, is_loopback

CHALLENGE = 'Bearer realm="pixels"'  # the WWW-Authenticate header of a 401
OPEN_PATHS = ("/health",)  # served without a token: liveness, for scripts and monitors


class HTTPError(Refusal):
    """A refusal with its HTTP status and any headers that status needs."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        field: str | None = None,
        headers: list[tuple[str, str]] | None = None,
    ):
        super().__init__(code, message, field)
        self.status = status
        self.headers = [("Content-Type", "application/json"), *(headers or [])]

    @property
    def reason(self) -> str:
        return HTTPStatus(self.status).phrase

    def body(self) -> bytes:
        return dumps({"code": self.code, "message": self.message, "field": self.field}).encode()


class Guard:
    """Who may use a server bound to `host` with `token` (None: no token needed)."""

    def __init__(self, host: str, token: str | None):
        self.host, self.token = host, token

    def check(
        self, path: str, query: str, headers: Mapping[str, str], port: int, websocket: bool
    ) -> None:
        """Raise HTTPError (403, 401) if this request must not be served. `headers` has
        lower-case names, each once; `port` is the one the request came in on."""
        origin = headers.get("origin")
        if origin is not None and (websocket or origin.lower() not in self.origins(port)):
            why = "the edit channel takes none" if websocket else "only the server's own pages"
            message = f"requests from web pages ({origin[:100]}) are refused: {why}."
            raise HTTPError(403, FORBIDDEN, message, "Origin")
        if is_loopback(self.host):
            host = headers.get("host", "")
            if host.lower() not in self.hosts(port):  # a DNS-rebinding page calls us by its name
                raise HTTPError(
                    403, FORBIDDEN, f"unknown Host {host[:100]!r}; use 127.0.0.1:{port}.", "Host"
                )
        if self.token and path not in OPEN_PATHS and not self.authorised(headers, query, websocket):
            where = "" if websocket else " (or ?token=TOKEN in a browser's address)"
            raise HTTPError(
                401,
                UNAUTHORIZED,
                f"a token is required: send the header {TOKEN_HEADER}: Bearer TOKEN{where}.",
                TOKEN_HEADER,
                [("WWW-Authenticate", CHALLENGE)],
            )

    def hosts(self, port: int) -> set[str]:
        """The Host headers of requests for this server, in lower case."""
        names = {*LOCAL_HOSTS, bracketed(self.host.lower())}
        return {f"{name}:{port}" for name in names}

    def origins(self, port: int) -> set[str]:
        """The server's own pages (the status page), the only origins HTTP serves."""
        return {f"http://{host}" for host in self.hosts(port)}

    def authorised(self, headers: Mapping[str, str], query: str, websocket: bool) -> bool:
        """The token from the header, or else (not on the WebSocket: a URL ends up in logs
        and histories) from ?token=, for a browser; compared in constant time."""
        scheme, _, given = headers.get(TOKEN_HEADER.lower(), "").partition(" ")
        if scheme.lower() != "bearer":
            given = "" if websocket else urllib.parse.parse_qs(query).get("token", [""])[0]
        return hmac.compare_digest(given.strip().encode(), self.token.encode())
