"""The emulator's hold on a request's TCP connection, so a fault can reset or cut it.

ASGI gives an app no way to drop a connection. When the emulator runs under uvicorn (see
`runner`), its HTTP protocol puts a `ConnectionHandle` for each connection into the
``state`` of every request (and WebSocket handshake) made on it; `drop_connection` then
resets it (TCP RST, unread data discarded) or closes it (FIN, after what was written), and
waits until the server has noticed, so uvicorn does not answer for the app. In-process
(``httpx.ASGITransport``, Starlette's test client) there is no socket: `drop_connection`
raises `ConnectionDropped`, which those transports hand to the caller.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Mapping
from typing import Any

from starlette.types import Receive

CONNECTION_STATE_KEY = "bailian_emulator.connection"
"""Key of the `ConnectionHandle` in a request scope's ``state``."""


class ConnectionDropped(Exception):
    """Where the emulator drops a connection but has none (in-process): the client's view of it."""


class ConnectionHandle:
    """One accepted connection's transport."""

    def __init__(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport

    def reset(self) -> None:
        """Abort with a TCP RST (``SO_LINGER`` 0): what was not sent yet is thrown away."""
        sock = self._transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):  # already gone
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        if isinstance(self._transport, asyncio.WriteTransport):
            self._transport.abort()
        else:
            self._transport.close()

    def close(self) -> None:
        """Close after sending what was written (FIN)."""
        self._transport.close()


def connection_of(scope: Mapping[str, Any]) -> ConnectionHandle | None:
    state = scope.get("state")
    handle = state.get(CONNECTION_STATE_KEY) if isinstance(state, Mapping) else None
    return handle if isinstance(handle, ConnectionHandle) else None


async def drop_connection(scope: Mapping[str, Any], receive: Receive, *, reset: bool, why: str) -> None:
    """Reset (or close) the request's connection and return once the server knows it is gone.

    Raises `ConnectionDropped` (saying ``why``) when the app runs without a socket.
    """
    handle = connection_of(scope)
    if handle is None:
        raise ConnectionDropped(why)
    if reset:
        handle.reset()
    else:
        handle.close()
    await until_disconnected(receive)


async def until_disconnected(receive: Receive) -> None:
    """Read (and discard) what the client still sends until the server reports the disconnect."""
    while True:
        message = await receive()
        if message["type"] in ("http.disconnect", "websocket.disconnect"):
            return
