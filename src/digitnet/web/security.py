"""What keeps the web app to the person at the machine: the Host guard and the body limit.

On a shared machine (see :class:`HostGuard`): a request whose ``Host`` is not this server gets
400 (DNS rebinding); a state-changing request must be sent as JSON, and an ``Origin``, if any,
must be the page's own, else 403 (cross-site forms and ``text/plain`` posts). :class:`BodyLimit`
refuses bodies over :data:`MAX_BODY` bytes with 413, and :func:`public` cuts every absolute path
out of an answer's text. Both middlewares are plain ASGI: they know nothing of the routes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from pathlib import PureWindowsPath

from fastapi import HTTPException
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MAX_BODY = 2_000_000  # bytes: a 1 MB PNG in base64 JSON fits, anything much larger is refused
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
#: POSTs that change what the server holds or does: JSON only, and same-origin only.
STATE_CHANGING = frozenset(
    {
        "/api/train",
        "/api/train/stop",
        "/api/train/pause",
        "/api/train/resume",
        "/api/train/step",
        "/api/train/adopt",
        "/api/backprop/step",
    }
)


# -- the body-size limit ----------------------------------------------------------------------


class _BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"the request body is larger than {MAX_BODY:,} bytes")


class BodyLimit:
    """Refuse request bodies over ``max_bytes`` with 413, from Content-Length before reading, or
    as soon as a chunked body grows past it."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.max_bytes):
            message = (
                f"the request body is larger than {self.max_bytes:,} bytes"
                if length.isdigit()
                else "the Content-Length header is not a number"
            )
            status = 413 if length.isdigit() else 400
            await JSONResponse({"detail": message}, status)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge()
            return message

        await self.app(scope, limited, send)


# -- the shared-machine guard -----------------------------------------------------------------


def host_name(host: str) -> str:
    """A host as a Host header names it: lower case, an IPv6 address in brackets."""
    host = host.strip().lower()
    if ":" in host and not host.startswith("["):
        return f"[{host}]"
    return host


def _split_host(value: str, default_port: int) -> tuple[str, int] | None:
    """(name, port) of a Host header value, or None when it is malformed."""
    value = value.strip().lower()
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        name, rest = value[: end + 1], value[end + 1 :]
    else:
        name, sep, port = value.partition(":")
        rest = sep + port
    if not name:
        return None
    if not rest:
        return name, default_port
    if rest.startswith(":") and rest[1:].isdigit() and len(rest) <= 6:
        return name, int(rest[1:])
    return None


class HostGuard:
    """What keeps a server on 127.0.0.1 for the person at the machine.

    - The ``Host`` header must name this server: one of ``hosts`` with the port it listens on,
      else 400. A page on another site that rebinds its own name to 127.0.0.1 sends its own name.
    - A POST to a state-changing path (:data:`STATE_CHANGING`) must be ``application/json``,
      else 403: a browser sends a cross-site form or ``text/plain`` post without asking, but a
      JSON one only after a CORS preflight, which this server never grants.
    - Any request other than GET/HEAD/OPTIONS with an ``Origin`` header must come from the page's
      own origin (the scheme and the Host), else 403.
    """

    def __init__(self, app: ASGIApp, hosts: Sequence[str] = LOOPBACK_HOSTS) -> None:
        self.app = app
        self.hosts = frozenset(host_name(h) for h in hosts)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        scheme = scope.get("scheme", "http")
        host = headers.get("host", "")
        refusal = self._refusal(scope, headers, scheme, host)
        if refusal is not None:
            status, message = refusal
            await JSONResponse({"detail": message}, status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

    def _refusal(
        self, scope: Scope, headers: dict[str, str], scheme: str, host: str
    ) -> tuple[int, str] | None:
        default_port = 443 if scheme in ("https", "wss") else 80
        split = _split_host(host, default_port)
        server = scope.get("server")
        port = server[1] if server else None
        if split is None or split[0] not in self.hosts or (port is not None and split[1] != port):
            shown = sorted(self.hosts)[0] if self.hosts else "127.0.0.1"
            where = f"{shown}:{port}" if port is not None else shown
            return 400, (
                f"the Host header {host[:80]!r} does not name this server: "
                f"open it as http://{where}/"
            )
        method = scope.get("method", "GET")
        if method in ("GET", "HEAD", "OPTIONS"):
            return None
        origin = headers.get("origin")
        own = f"{'https' if scheme in ('https', 'wss') else 'http'}://{host.strip().lower()}"
        if origin is not None and origin.strip().lower() != own:
            return 403, (
                f"a request from another page ({origin[:80]}) is refused: only this server's "
                f"own page ({own}) may send it"
            )
        if scope.get("path") in STATE_CHANGING:
            media = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if media != "application/json":
                return 403, (
                    f"{scope.get('path')} takes only JSON (Content-Type: application/json), "
                    f"not {media or 'a body without a content type'}"
                )
        return None


# -- no server paths in answers ---------------------------------------------------------------

_ABSOLUTE_PATH = re.compile(r"(?:(?<=^)|(?<=[\s'\"(=]))(?:[A-Za-z]:[\\/]|~?/)[^\s'\"),;]+")


def public(text: str) -> str:
    """``text`` as one line with every absolute path cut to its last component (``.../name``):
    an answer never tells a client where the server keeps its files."""
    line = " ".join(str(text).split())
    return _ABSOLUTE_PATH.sub(lambda m: ".../" + (PureWindowsPath(m[0]).name or "?"), line)
