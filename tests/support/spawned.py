"""`bailian-mcp` as a subprocess: the installed entry point, free loopback ports, and HTTP servers (`bailian-mcp
--emulator` over SSE or streamable HTTP) started on free ports and stopped at the end. Servers are only ever reached
through 127.0.0.1."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

ENTRY_POINT = str(Path(sys.executable).with_name("bailian-mcp"))
TOKEN = "e2e-token-0123456789-abcdefghij"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "probe", "version": "0"}},
}
MCP_ACCEPT = "application/json, text/event-stream"


def free_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    """This process's environment without any BAILIAN_/DASHSCOPE_ variable, folders in `tmp_path`, and `extra`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("BAILIAN_", "DASHSCOPE_"))}
    env.update(
        BAILIAN_DATA_DIR=str(tmp_path / "data"),
        BAILIAN_OUTPUT_DIR=str(tmp_path / "out"),
        PYTHONUNBUFFERED="1",
        **extra,
    )
    return env


@dataclass
class RunningServer:
    transport: str
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


class Spawner:
    """`spawn(transport, *args, host=..., **env)` starts `bailian-mcp --emulator` and waits for /healthz."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self.tmp_path_factory = tmp_path_factory
        self.started: list[RunningServer] = []

    def __call__(self, transport: str, *args: str, host: str = "127.0.0.1", **env: str) -> RunningServer:
        tmp_path = self.tmp_path_factory.mktemp(transport)
        port = free_port()
        log_path = tmp_path / "server.log"
        with log_path.open("wb") as log:
            process = subprocess.Popen(
                [ENTRY_POINT, "--emulator", "--transport", transport, "--host", host, "--port", str(port), *args],
                env=server_env(tmp_path, **env),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        server = RunningServer(transport, process, port, log_path)
        self.started.append(server)
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    return server
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"server did not start:\n{server.log()}")
            time.sleep(0.05)

    def stop_all(self) -> None:
        for server in self.started:
            server.process.terminate()
        for server in self.started:
            try:
                server.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.process.kill()
                server.process.wait()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def raw_request(server: RunningServer, headers: dict[str, str]) -> httpx.Response:
    """The transport's entry request (POST initialize, or the SSE GET), response body unread."""
    with httpx.Client(base_url=server.url, timeout=10) as http:
        if server.transport == "streamable-http":
            headers = {"Accept": MCP_ACCEPT, **headers}
            return http.post("/mcp", json=INITIALIZE, headers=headers)
        with http.stream("GET", "/sse", headers={"Accept": "text/event-stream", **headers}) as response:
            if response.status_code == 200:
                first = next(response.iter_lines())
                assert first == "event: endpoint", first
            else:
                response.read()
            return response
