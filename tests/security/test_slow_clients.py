"""Slow and numerous clients over HTTP: a connection that trickles its request headers is cut off, connections beyond
the cap get 503 at once, and the Host header is compared case-insensitively. Servers are `bailian-mcp --emulator`
on free loopback ports, reached only through 127.0.0.1; every wait is bounded."""

from __future__ import annotations

import socket
import time

import httpx
import pytest

from tests.support.spawned import INITIALIZE, MCP_ACCEPT, RunningServer, Spawner

pytestmark = pytest.mark.slow


def trickling(server: RunningServer) -> socket.socket:
    """A connection that has sent the start of a request and one header line, and goes on no further."""
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    sock.sendall(b"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n")
    return sock


def closed_within(sock: socket.socket, seconds: float) -> bool:
    sock.settimeout(seconds)
    try:
        return sock.recv(1024) == b""  # the server closed it
    except (TimeoutError, ConnectionResetError):
        return False


def test_a_client_that_trickles_its_headers_is_cut_off_and_others_are_served(spawn: Spawner) -> None:
    server = spawn("streamable-http", BAILIAN_HTTP_HEADER_SECONDS="1")
    slow = [trickling(server) for _ in range(20)]
    started = time.monotonic()
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200, "served meanwhile"
    assert all(closed_within(sock, 5) for sock in slow)
    assert time.monotonic() - started < 5
    for sock in slow:
        sock.close()


def test_connections_beyond_the_cap_are_refused_at_once(spawn: Spawner) -> None:
    server = spawn("streamable-http", BAILIAN_HTTP_MAX_CONNECTIONS="4", BAILIAN_HTTP_HEADER_SECONDS="30")
    held = [trickling(server) for _ in range(4)]
    time.sleep(0.2)
    started = time.monotonic()
    refused = httpx.get(f"{server.url}/healthz", timeout=5)
    assert refused.status_code == 503 and time.monotonic() - started < 2
    for sock in held:
        sock.close()
    time.sleep(0.2)
    assert httpx.get(f"{server.url}/healthz", timeout=5).status_code == 200


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_the_host_header_is_compared_case_insensitively(spawn: Spawner, transport: str) -> None:
    server = spawn(transport)
    host = f"LOCALHOST:{server.port}"
    with httpx.Client(base_url=server.url, timeout=10) as http:
        if transport == "streamable-http":
            answer = http.post("/mcp", json=INITIALIZE, headers={"Accept": MCP_ACCEPT, "Host": host})
            assert answer.status_code == 200, answer.text
        else:
            with http.stream("GET", "/sse", headers={"Accept": "text/event-stream", "Host": host}) as answer:
                assert answer.status_code == 200
