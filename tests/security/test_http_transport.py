"""What tests/e2e/test_http_security.py does not cover about the HTTP transports' bearer token and Host/Origin
checks: the token is accepted only in the Authorization header (never from the query string, a cookie, another
header or the body), a refusal never echoes what was sent, and look-alike Origin and Host values are refused.
Servers are `bailian-mcp --emulator` on free loopback ports, reached only through 127.0.0.1.
"""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import httpx
import pytest

from tests.support.spawned import (
    INITIALIZE,
    MCP_ACCEPT,
    TOKEN,
    RunningServer,
    Spawner,
    bearer,
    raw_request,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", params=["streamable-http", "sse"])
def server(request: pytest.FixtureRequest, spawn: Spawner) -> RunningServer:
    return spawn(request.param, "--log-level", "DEBUG", BAILIAN_HTTP_TOKEN=TOKEN)


def entry(server: RunningServer, *, query: str = "", headers: dict[str, str] | None = None) -> httpx.Response:
    """The transport's entry request with `query` appended to its URL; the body is read only on a refusal."""
    headers = dict(headers or {})
    with httpx.Client(base_url=server.url, timeout=10) as http:
        if server.transport == "streamable-http":
            return http.post(f"/mcp{query}", json=INITIALIZE, headers={"Accept": MCP_ACCEPT, **headers})
        with http.stream("GET", f"/sse{query}", headers={"Accept": "text/event-stream", **headers}) as response:
            if response.status_code != 200:
                response.read()
            return response


@pytest.mark.parametrize(
    "query",
    [
        f"?access_token={TOKEN}",
        f"?token={TOKEN}",
        f"?authorization={quote('Bearer ' + TOKEN)}",
        f"?api_key={TOKEN}",
    ],
    ids=["access_token", "token", "authorization", "api_key"],
)
def test_a_token_in_the_query_string_is_not_accepted(server: RunningServer, query: str) -> None:
    response = entry(server, query=query)
    assert response.status_code == 401
    assert TOKEN not in response.text and TOKEN not in str(response.headers)


@pytest.mark.parametrize(
    "headers",
    [
        {"Cookie": f"token={TOKEN}; access_token={TOKEN}"},
        {"Authorization": "Basic " + base64.b64encode(f"user:{TOKEN}".encode()).decode()},
        {"Authorization": f"Token {TOKEN}"},
        {"Authorization": f"Bearer{TOKEN}"},
        {"X-Api-Key": TOKEN},
        {"Proxy-Authorization": f"Bearer {TOKEN}"},
    ],
    ids=["cookie", "basic", "token-scheme", "no-space", "x-api-key", "proxy-authorization"],
)
def test_the_token_anywhere_but_a_bearer_authorization_header_is_not_accepted(
    server: RunningServer, headers: dict[str, str]
) -> None:
    response = entry(server, headers=headers)
    assert response.status_code == 401
    assert TOKEN not in response.text and TOKEN not in str(response.headers)


def test_a_token_inside_the_request_body_is_not_accepted(server: RunningServer) -> None:
    params: dict[str, Any] = dict(INITIALIZE["params"])  # type: ignore[call-overload]
    body = {**INITIALIZE, "params": {**params, "_meta": {"authorization": f"Bearer {TOKEN}"}}}
    with httpx.Client(base_url=server.url, timeout=10) as http:
        if server.transport == "streamable-http":
            response = http.post("/mcp", json=body, headers={"Accept": MCP_ACCEPT})
        else:
            response = http.post("/messages/?session_id=0123", json=body)
    assert response.status_code == 401


@pytest.mark.parametrize(
    "sent",
    [TOKEN + "-wrong", TOKEN.upper(), "x" * 5000, f"{TOKEN} {TOKEN}", "<script>alert(1)</script>"],
    ids=["near-miss", "upper-case", "huge", "twice", "markup"],
)
def test_a_401_echoes_nothing_of_what_was_sent(server: RunningServer, sent: str) -> None:
    response = entry(server, query=f"?token={quote(sent)}", headers=bearer(sent))
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    shown = response.text + str(response.headers)
    assert sent not in shown and TOKEN not in shown and "<script>" not in shown


@pytest.mark.parametrize(
    "origin",
    [
        "null",
        "http://localhost.evil.example",
        "http://127.0.0.1.evil.example:3000",
        "http://evil.example#@localhost",
        "http://localhost@evil.example",
        "file://",
        "http://[::1].evil.example",
    ],
)
def test_look_alike_origins_are_refused(server: RunningServer, origin: str) -> None:
    assert entry(server, headers={**bearer(TOKEN), "Origin": origin}).status_code == 403
    # And without the token: refused either way, never let through.
    assert entry(server, headers={"Origin": origin}).status_code in (401, 403)


@pytest.mark.parametrize(
    "host",
    ["localhost.evil.example", "127.0.0.1.nip.io", "evil.example:80", "localhost@evil.example", "[::2]"],
)
def test_look_alike_hosts_are_refused(server: RunningServer, host: str) -> None:
    assert entry(server, headers={**bearer(TOKEN), "Host": host}).status_code == 421


def test_the_right_token_still_works_alongside_the_refusals(server: RunningServer) -> None:
    assert raw_request(server, bearer(TOKEN)).status_code == 200


def test_refused_tokens_never_reach_the_log(server: RunningServer) -> None:
    """At DEBUG, a wrong token sent in a header or a cookie never shows up in the server's output. (A token put in
    the URL does: uvicorn's access log records the query string — the reason the URL must never carry it.)"""
    wrong = TOKEN + "-header-only"
    entry(server, headers=bearer(wrong))
    entry(server, headers={"Cookie": f"session={wrong}", "X-Api-Key": wrong})
    log = server.log()
    assert "DEBUG" in log and "401" in log
    assert wrong not in log
