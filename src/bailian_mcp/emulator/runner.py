"""Running the emulator over a real socket: on a background thread (tests) or blocking (CLI)."""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from types import TracebackType
from typing import TYPE_CHECKING

from .app import create_app
from .config import DEFAULT_CONFIG, EmulatorConfig
from .connection import CONNECTION_STATE_KEY, ConnectionHandle
from .state import EmulatorState, emulator_state

if TYPE_CHECKING:
    import uvicorn
    from starlette.applications import Starlette

_TIMEOUT = 10.0
"""Seconds to wait for the server thread to start or to stop."""


def _bind(host: str, port: int) -> socket.socket:
    """A listening socket, so port 0 works, the real port is known before serving, and
    connections made before the server loop runs wait in the backlog instead of failing.

    Made with ``IPPROTO_TCP`` named: asyncio turns Nagle's algorithm off (``TCP_NODELAY``) only on
    sockets whose protocol says TCP, and with it on, a reply written in two parts (headers, body)
    waits for the client's delayed ACK — about 40 ms per request on Linux."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
        sock.listen(2048)
    except OSError:
        sock.close()
        raise
    return sock


def _root_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}" if ":" in host else f"http://{host}:{port}"


def _protocol() -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol, handing every request the `ConnectionHandle` of its connection (in the
    scope's ``state``), so faults can reset or cut it; h11 always, for the same behaviour everywhere."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class ConnectionAwareH11Protocol(H11Protocol):
        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self.app_state = {**self.app_state, CONNECTION_STATE_KEY: ConnectionHandle(transport)}

    return ConnectionAwareH11Protocol


def _server(app: Starlette) -> uvicorn.Server:
    import uvicorn

    config = uvicorn.Config(
        app,
        http=_protocol(),
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


class RunningEmulator:
    """An emulator serving on its own thread and event loop; `stop` (or leaving ``with``) ends it."""

    def __init__(self, server: uvicorn.Server, thread: threading.Thread, root_url: str, state: EmulatorState) -> None:
        self._server = server
        self._thread = thread
        self.root_url = root_url
        self.base_url = root_url + "/api/v1"
        self.state = state

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(_TIMEOUT)

    def __enter__(self) -> RunningEmulator:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def start_in_thread(config: EmulatorConfig = DEFAULT_CONFIG, host: str = "127.0.0.1", port: int = 0) -> RunningEmulator:
    """Serve on ``host:port`` (0: any free port) from a daemon thread; returns once accepting."""
    app = create_app(config)
    sock = _bind(host, port)
    server = _server(app)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="bailian-emulator", daemon=True)
    thread.start()
    deadline = time.monotonic() + _TIMEOUT
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            thread.join(_TIMEOUT)
            sock.close()
            raise RuntimeError(f"the emulator did not start on {host}:{port}")
        time.sleep(0.005)
    return RunningEmulator(server, thread, _root_url(sock), emulator_state(app))


def serve(host: str, port: int, config: EmulatorConfig) -> None:
    """Serve in the foreground until interrupted; prints the base URL to stderr first."""
    app = create_app(config)
    sock = _bind(host, port)
    print(f"DashScope emulator serving at {_root_url(sock)}/api/v1", file=sys.stderr, flush=True)
    _server(app).run(sockets=[sock])
