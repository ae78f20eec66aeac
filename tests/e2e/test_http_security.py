"""The installed entry point over SSE and streamable HTTP: bearer token, Host/Origin checks, /healthz, and the
refusal to serve a non-loopback address unauthenticated. Servers listen on free ports and are only ever reached
through 127.0.0.1."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

from tests.support.spawned import (
    ENTRY_POINT,
    INITIALIZE,
    TOKEN,
    RunningServer,
    Spawner,
    bearer,
    free_port,
    raw_request,
    server_env,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["streamable-http", "sse"])
def token_server(request: pytest.FixtureRequest, spawn: Spawner) -> RunningServer:
    return spawn(request.param, "--log-level", "DEBUG", BAILIAN_HTTP_TOKEN=TOKEN)


@pytest.mark.parametrize(
    "headers",
    [{}, bearer("wrong-token"), bearer(TOKEN + "x"), bearer(TOKEN[:-1]), {"Authorization": TOKEN}],
    ids=["none", "wrong", "longer", "shorter", "not-bearer"],
)
def test_requests_without_the_right_token_get_401(token_server: RunningServer, headers: dict[str, str]) -> None:
    response = raw_request(token_server, headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_the_right_token_is_let_through(token_server: RunningServer) -> None:
    assert raw_request(token_server, bearer(TOKEN)).status_code == 200


def test_the_other_mcp_endpoints_need_the_token_too(token_server: RunningServer) -> None:
    with httpx.Client(base_url=token_server.url, timeout=10) as http:
        if token_server.transport == "sse":
            responses = [http.post("/messages/?session_id=0123", json=INITIALIZE)]
        else:
            responses = [http.get("/mcp", headers={"Accept": "text/event-stream"}), http.delete("/mcp")]
    assert [r.status_code for r in responses] == [401] * len(responses)


def test_a_foreign_origin_gets_403(token_server: RunningServer) -> None:
    response = raw_request(token_server, {**bearer(TOKEN), "Origin": "http://evil.example"})
    assert response.status_code == 403
    assert raw_request(token_server, {**bearer(TOKEN), "Origin": "http://localhost:3000"}).status_code == 200


def test_a_foreign_host_gets_421(token_server: RunningServer) -> None:
    response = raw_request(token_server, {**bearer(TOKEN), "Host": "evil.example"})
    assert response.status_code == 421
    assert raw_request(token_server, {**bearer(TOKEN), "Host": f"localhost:{token_server.port}"}).status_code == 200


def test_healthz_needs_no_token(token_server: RunningServer) -> None:
    response = httpx.get(f"{token_server.url}/healthz", timeout=10)
    assert response.status_code == 200 and response.json() == {"ok": True}


async def test_the_mcp_client_with_the_header_calls_a_tool(token_server: RunningServer) -> None:
    if token_server.transport == "streamable-http":
        async with (
            httpx2.AsyncClient(headers=bearer(TOKEN), timeout=httpx2.Timeout(30, read=300)) as http,
            Client(streamable_http_client(f"{token_server.url}/mcp", http_client=http)) as client,
        ):
            result = await client.call_tool("text_to_image", {"prompt": "a lighthouse", "wait_seconds": 0})
    else:
        async with Client(sse_client(f"{token_server.url}/sse", headers=bearer(TOKEN))) as client:
            result = await client.call_tool("text_to_image", {"prompt": "a lighthouse", "wait_seconds": 0})
    assert not result.is_error, result.content
    assert result.structured_content is not None and result.structured_content["job_id"]


def test_the_token_never_appears_in_the_logs(token_server: RunningServer) -> None:
    raw_request(token_server, bearer(TOKEN))
    raw_request(token_server, bearer(TOKEN + "-wrong"))
    log = token_server.log()
    assert "401" in log and "DEBUG" in log  # the log is being written, at DEBUG level
    assert TOKEN not in log


def test_a_non_loopback_bind_without_a_token_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [ENTRY_POINT, "--emulator", "--transport", "streamable-http", "--host", "0.0.0.0", "--port", str(free_port())],
        env=server_env(tmp_path),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "--allow-unauthenticated-remote" in done.stderr and "BAILIAN_HTTP_TOKEN" in done.stderr
    assert "0.0.0.0" in done.stderr and "Traceback" not in done.stderr


@pytest.mark.parametrize("transport", ["streamable-http", "sse"])
def test_allow_unauthenticated_remote_starts_loudly_and_keeps_host_checks(spawn: Spawner, transport: str) -> None:
    server: RunningServer = spawn(transport, "--allow-unauthenticated-remote", host="0.0.0.0")
    assert "WITHOUT AUTHENTICATION" in server.log()
    assert raw_request(server, {}).status_code == 200
    # The SDK would switch DNS-rebinding protection off for 0.0.0.0; here it stays on.
    assert raw_request(server, {"Host": "evil.example"}).status_code == 421
    assert raw_request(server, {"Origin": "http://evil.example"}).status_code == 403


def test_a_non_loopback_bind_with_a_token_starts_quietly(spawn: Spawner) -> None:
    server: RunningServer = spawn(
        "streamable-http", host="0.0.0.0", BAILIAN_HTTP_TOKEN=TOKEN, BAILIAN_ALLOWED_HOSTS="mcp.example.test"
    )
    assert "WITHOUT AUTHENTICATION" not in server.log()
    assert raw_request(server, {}).status_code == 401
    assert raw_request(server, {**bearer(TOKEN), "Host": "mcp.example.test"}).status_code == 200
    assert json.loads(httpx.get(f"{server.url}/healthz", timeout=10).text) == {"ok": True}
