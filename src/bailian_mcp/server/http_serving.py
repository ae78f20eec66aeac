"""Serving the HTTP transports (SSE, streamable HTTP) with uvicorn, hardened against slow and numerous clients.

    a request's headers    must all arrive within BAILIAN_HTTP_HEADER_SECONDS, its body within BODY_SECONDS more; a
                           connection that trickles them is closed (each one held costs a file descriptor and a task)
    connections at once    at most BAILIAN_HTTP_MAX_CONNECTIONS; beyond it, uvicorn answers 503 at once
    the Host header        compared case-insensitively (`LOCALHOST:8000` is `localhost:8000`), as DNS names are

The rest (Host and Origin allow-lists, bearer tokens) is `http_security`'s.
"""

from __future__ import annotations

import asyncio
from typing import Any, Literal

import h11
import uvicorn
from mcp.server import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.types import ASGIApp, Receive, Scope, Send
from uvicorn.protocols.http.h11_impl import H11Protocol

BODY_SECONDS = 60.0


class ReadDeadlines(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, with deadlines for reading each request (see the module docstring)."""

    header_seconds = 10.0  # set from the settings by serve_http
    _deadline: asyncio.TimerHandle | None = None
    _reading: Literal["headers", "body", ""] = ""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm(self.header_seconds)

    def handle_events(self) -> None:
        super().handle_events()
        if self.conn.their_state is h11.SEND_BODY and self._reading == "headers":
            self._arm(BODY_SECONDS, reading="body")
        elif self.conn.their_state is not h11.IDLE and self.conn.their_state is not h11.SEND_BODY:
            self._disarm()  # the request has arrived (or the connection is ending)

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm(self.header_seconds)  # the next request on this connection gets the same deadlines

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self, seconds: float, reading: Literal["headers", "body"] = "headers") -> None:
        self._disarm()
        self._reading = reading
        self._deadline = self.loop.call_later(seconds, self._too_slow)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        self._reading = ""

    def _too_slow(self) -> None:
        self._deadline = None
        if not self.transport.is_closing():
            self.transport.close()


class CaseInsensitiveHost:
    """ASGI middleware: the Host header in lower case before anything checks it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = [(name, value.lower() if name == b"host" else value) for name, value in scope["headers"]]
            scope = {**scope, "headers": headers}
        await self.app(scope, receive, send)


def serve_http(
    server: MCPServer[Any],
    transport: Literal["sse", "streamable-http"],
    *,
    host: str,
    port: int,
    transport_security: TransportSecuritySettings,
    max_connections: int,
    header_seconds: float,
    log_level: str,
    stateless: bool = False,
) -> None:
    """Serve `server` over `transport` on host:port until interrupted. `stateless`: streamable HTTP keeps no
    session between requests (for clients of the older protocol versions; the 2026-07-28 one has none), so that any
    replica behind a load balancer can answer any request."""
    protocol = type("Deadlines", (ReadDeadlines,), {"header_seconds": header_seconds})
    if transport == "sse":
        app = server.sse_app(transport_security=transport_security, host=host)
    else:
        app = server.streamable_http_app(transport_security=transport_security, host=host, stateless_http=stateless)
    config = uvicorn.Config(
        CaseInsensitiveHost(app),
        host=host,
        port=port,
        http=protocol,
        limit_concurrency=max_connections,
        log_level=log_level.lower(),
    )
    uvicorn.Server(config).run()
