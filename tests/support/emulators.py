"""The emulator on loopback for the tests: configurations, what its API received, and a file server for URL
inputs (everything on 127.0.0.1, never the network)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator

QUICK_EMULATOR = EmulatorConfig(pending_seconds=0.05, running_seconds=0.15)
"""Tasks that finish in 0.2 s, with the emulator's usual rate and concurrency limits (the e2e default)."""

SECURITY_EMULATOR = EmulatorConfig(
    pending_seconds=0.02,
    running_seconds=0.05,
    submit_rps=0,
    max_concurrent_tasks=0,
    stream_chunk_seconds=0.0,
    fetch_timeout_seconds=2.0,
)
"""Near-instant tasks, no throttling or queueing: the security suite's emulators (with overrides per test)."""

FUZZ_EMULATOR = EmulatorConfig(
    pending_seconds=0.01,
    running_seconds=0.03,
    submit_rps=0,
    max_concurrent_tasks=0,
    stream_chunk_seconds=0.0,
    fetch_timeout_seconds=1.0,
)
"""Tiny task durations, no throttling or queueing: hundreds of fuzzed calls fit in seconds."""

EmulatorFactory = Callable[..., RunningEmulator]
"""`start_emulator(**EmulatorConfig overrides)`, as the security suite's fixture gives it."""


def api_requests(emulator: RunningEmulator, method: str | None = None, path_part: str = "") -> list[dict[str, Any]]:
    """The requests the emulator's API received (from its request log)."""
    return [r for r in emulator.state.requests if (method is None or r["method"] == method) and path_part in r["path"]]


class FileServer:
    """Serves in-memory files over real HTTP on 127.0.0.1 (never the network), for URL inputs.

    Unknown paths answer 404; ``requests`` counts the GETs per path."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.requests: dict[str, int] = {}
        files, requests = self.files, self.requests

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                requests[self.path] = requests.get(self.path, 0) + 1
                data = files.get(self.path)
                if data is None:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, name="test-files", daemon=True)
        self._thread.start()
        self.root = f"http://127.0.0.1:{self._server.server_port}"

    def add(self, name: str, data: bytes) -> str:
        """Serve ``data`` at ``/name``; returns its URL."""
        self.files["/" + name] = data
        return f"{self.root}/{name}"

    def url(self, name: str) -> str:
        return f"{self.root}/{name}"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)
