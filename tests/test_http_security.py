"""http_security: loopback detection, the Host/Origin allowlists, the token check, the bind rule, /healthz."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from pydantic import SecretStr
from starlette.requests import Request
from starlette.testclient import TestClient

from bailian_mcp.config import Settings, load_settings
from bailian_mcp.errors import ConfigurationError
from bailian_mcp.server import build_server
from bailian_mcp.server.http_security import (
    HttpSecurity,
    StaticTokenVerifier,
    add_health_route,
    allowed_hosts,
    allowed_origins,
    check_bind,
    check_token,
    is_loopback,
    normalize_host_entry,
    normalize_origin_entry,
    tokens_match,
    transport_security,
)

TOKEN = "unit-token-0123456789abcdef"


@pytest.mark.parametrize(
    "host",
    [
        *("127.0.0.1", "127.4.5.6", "127.255.255.254", "::1", "[::1]", "0:0:0:0:0:0:0:1", "::ffff:127.0.0.1"),
        *("localhost", "LOCALHOST", "localhost.", " localhost "),
    ],
)
def test_loopback_addresses(host: str) -> None:
    assert is_loopback(host)


@pytest.mark.parametrize(
    "host",
    [
        *("0.0.0.0", "::", "[::]", "192.168.1.10", "10.0.0.1", "128.0.0.1", "126.255.255.255", "fe80::1", "::2"),
        *("::ffff:10.0.0.1", "example.com", "localhost.example.com", "my-localhost", "127.0.0.1.nip.io", ""),
    ],
)
def test_other_addresses_are_not_loopback(host: str) -> None:
    assert not is_loopback(host)


# --- Host / Origin allowlists ---------------------------------------------------------------------------------------


def test_default_hosts_are_loopback_names_and_the_bound_address() -> None:
    hosts = allowed_hosts("0.0.0.0", 8000)
    for name in ("127.0.0.1", "localhost", "[::1]"):
        assert name in hosts and f"{name}:*" in hosts
    assert "0.0.0.0:8000" in hosts
    assert not any(h.startswith("0.0.0.0") and h != "0.0.0.0:8000" for h in hosts)


def test_an_ipv6_bind_address_is_bracketed() -> None:
    assert "[2001:db8::5]:9000" in allowed_hosts("2001:db8::5", 9000)
    assert "http://[2001:db8::5]:9000" in allowed_origins("2001:db8::5", 9000)


def test_port_80_also_allows_the_bare_bound_name() -> None:
    assert {"10.1.2.3", "10.1.2.3:80"} <= set(allowed_hosts("10.1.2.3", 80))


@pytest.mark.parametrize(
    ("entry", "patterns"),
    [
        ("mcp.example.com", ["mcp.example.com", "mcp.example.com:*"]),
        ("MCP.Example.COM", ["mcp.example.com", "mcp.example.com:*"]),
        ("mcp.example.com:8443", ["mcp.example.com:8443"]),
        ("mcp.example.com:*", ["mcp.example.com:*"]),
        ("10.0.0.7", ["10.0.0.7", "10.0.0.7:*"]),
        ("2001:db8::1", ["[2001:db8::1]", "[2001:db8::1]:*"]),
        ("[2001:db8::1]", ["[2001:db8::1]", "[2001:db8::1]:*"]),
        ("[2001:db8::1]:8443", ["[2001:db8::1]:8443"]),
        ("internal_host", ["internal_host", "internal_host:*"]),
    ],
)
def test_host_entries(entry: str, patterns: list[str]) -> None:
    assert normalize_host_entry(entry) == patterns


@pytest.mark.parametrize(
    "entry", ["*", "http://mcp.example.com", "mcp.example.com/mcp", "a b", "host:port", "host:123456", "[::1", "x@y"]
)
def test_bad_host_entries_are_refused_naming_the_variable(entry: str) -> None:
    with pytest.raises(ValueError):
        normalize_host_entry(entry)
    with pytest.raises(ConfigurationError, match="BAILIAN_ALLOWED_HOSTS"):
        allowed_hosts("127.0.0.1", 8000, [entry])


@pytest.mark.parametrize(
    ("entry", "patterns"),
    [
        ("https://app.example.com", ["https://app.example.com", "https://app.example.com:*"]),
        ("https://app.example.com/", ["https://app.example.com", "https://app.example.com:*"]),
        ("http://app.example.com:3000", ["http://app.example.com:3000"]),
        ("http://[::1]:3000", ["http://[::1]:3000"]),
    ],
)
def test_origin_entries(entry: str, patterns: list[str]) -> None:
    assert normalize_origin_entry(entry) == patterns


@pytest.mark.parametrize("entry", ["app.example.com", "*", "null", "https://app.example.com/path", "ftp://x.example"])
def test_bad_origin_entries_are_refused_naming_the_variable(entry: str) -> None:
    with pytest.raises(ConfigurationError, match="BAILIAN_ALLOWED_ORIGINS"):
        allowed_origins("127.0.0.1", 8000, [entry])


def test_default_origins_are_loopback_on_any_port() -> None:
    origins = allowed_origins("127.0.0.1", 8000)
    assert {"http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*", "http://localhost"} <= set(origins)
    assert not any("https" in o or "evil" in o for o in origins)


async def check(settings: TransportSecuritySettings, *, host: str, origin: str | None = None) -> int:
    """The status the SDK's own check gives a request with these headers (200 = let through)."""
    headers = [(b"host", host.encode())] + ([(b"origin", origin.encode())] if origin else [])
    request = Request({"type": "http", "method": "GET", "path": "/mcp", "headers": headers, "query_string": b""})
    response = await TransportSecurityMiddleware(settings).validate_request(request)
    return 200 if response is None else response.status_code


async def test_the_sdk_check_accepts_exactly_the_listed_hosts_and_origins() -> None:
    settings = transport_security("0.0.0.0", 8000, ["mcp.example.com"], ["https://app.example.com"])
    assert settings.enable_dns_rebinding_protection
    assert await check(settings, host="127.0.0.1:8000") == 200
    assert await check(settings, host="localhost:1234") == 200
    assert await check(settings, host="[::1]:8000") == 200
    assert await check(settings, host="mcp.example.com") == 200
    assert await check(settings, host="mcp.example.com:443") == 200
    assert await check(settings, host="0.0.0.0:8000") == 200
    assert await check(settings, host="0.0.0.0:9999") == 421
    assert await check(settings, host="evil.example") == 421
    assert await check(settings, host="evil.example:8000") == 421
    assert await check(settings, host="mcp.example.com.evil.example") == 421
    assert await check(settings, host="localhost.evil.example:8000") == 421
    assert await check(settings, host="localhost:8000", origin="https://app.example.com") == 200
    assert await check(settings, host="localhost:8000", origin="http://localhost:5173") == 200
    assert await check(settings, host="localhost:8000", origin="http://evil.example") == 403
    assert await check(settings, host="localhost:8000", origin="http://app.example.com") == 403
    assert await check(settings, host="localhost:8000", origin="https://app.example.com.evil.example") == 403


# --- token ----------------------------------------------------------------------------------------------------------


def test_token_comparison() -> None:
    assert tokens_match(TOKEN, TOKEN)
    assert not tokens_match(TOKEN + "x", TOKEN)
    assert not tokens_match(TOKEN[:-1], TOKEN)
    assert not tokens_match("", TOKEN)
    assert not tokens_match(TOKEN.upper(), TOKEN)
    assert not tokens_match("tökén\udcff", TOKEN)  # whatever a client sends, no exception


async def test_the_verifier_accepts_only_the_token_and_never_keeps_it() -> None:
    verifier = StaticTokenVerifier(SecretStr(TOKEN))
    access = await verifier.verify_token(TOKEN)
    assert access is not None and access.client_id == "bailian-http-token"
    assert TOKEN not in access.model_dump_json()
    assert await verifier.verify_token("wrong") is None
    assert await verifier.verify_token("") is None
    assert TOKEN not in repr(verifier)


@pytest.mark.parametrize("bad", ["with space inside", "tab\tinside", "tökén-0123456789abcdef"])
def test_a_token_no_client_can_send_is_refused_without_echoing_it(bad: str) -> None:
    with pytest.raises(ConfigurationError, match="BAILIAN_HTTP_TOKEN") as caught:
        check_token(SecretStr(bad))
    assert bad not in str(caught.value)


def test_a_short_token_is_warned_about_without_showing_it(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="bailian_mcp"):
        check_token(SecretStr("short1"))
    assert "BAILIAN_HTTP_TOKEN" in caplog.text and "short1" not in caplog.text
    caplog.clear()
    check_token(SecretStr(TOKEN))
    assert not caplog.records


# --- the bind rule --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["127.0.0.1", "::1", "localhost"])
def test_loopback_binds_need_nothing(host: str) -> None:
    assert check_bind(host, token_set=False, allow_unauthenticated_remote=False) is None


@pytest.mark.parametrize("host", ["0.0.0.0", "::", "192.168.1.10", "myhost.lan"])
def test_remote_binds_without_a_token_are_refused(host: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        check_bind(host, token_set=False, allow_unauthenticated_remote=False)
    message = str(caught.value)
    assert "--allow-unauthenticated-remote" in message and "BAILIAN_HTTP_TOKEN" in message and host in message


def test_remote_binds_with_a_token_are_fine_and_the_flag_gives_a_warning() -> None:
    assert check_bind("0.0.0.0", token_set=True, allow_unauthenticated_remote=False) is None
    warning = check_bind("0.0.0.0", token_set=False, allow_unauthenticated_remote=True)
    assert warning is not None and "WITHOUT AUTHENTICATION" in warning and "BAILIAN_HTTP_TOKEN" in warning


# --- settings and the assembled pieces ------------------------------------------------------------------------------


def test_settings_from_the_environment(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BAILIAN_HTTP_TOKEN", f"  {TOKEN}\n")
    clean_env.setenv("BAILIAN_ALLOWED_HOSTS", "mcp.example.com, proxy.internal:8080,,")
    clean_env.setenv("BAILIAN_ALLOWED_ORIGINS", "https://app.example.com")
    settings = load_settings()
    assert settings.http_token is not None and settings.http_token.get_secret_value() == TOKEN
    assert settings.allowed_hosts == ["mcp.example.com", "proxy.internal:8080"]
    assert settings.allowed_origins == ["https://app.example.com"]
    assert TOKEN not in repr(settings) and TOKEN not in str(settings.model_dump())


@pytest.mark.parametrize("value", ["", "   "])
def test_an_empty_token_means_no_token(clean_env: pytest.MonkeyPatch, value: str) -> None:
    clean_env.setenv("BAILIAN_HTTP_TOKEN", value)
    assert load_settings().http_token is None


def test_an_unexpanded_token_variable_is_refused(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("BAILIAN_HTTP_TOKEN", "${MY_TOKEN}")
    with pytest.raises(ConfigurationError, match="unexpanded"):
        load_settings()


def test_http_security_with_and_without_a_token(settings: Settings) -> None:
    open_ = HttpSecurity.from_settings(settings, host="127.0.0.1", port=8000)
    assert open_.token_verifier is None and open_.auth is None and open_.warning is None
    assert open_.transport_security.enable_dns_rebinding_protection

    guarded = HttpSecurity.from_settings(
        settings.model_copy(update={"http_token": SecretStr(TOKEN)}), host="0.0.0.0", port=8000
    )
    assert guarded.token_verifier is not None and guarded.auth is not None
    assert guarded.auth.resource_server_url is None  # no OAuth metadata is advertised
    assert guarded.warning is None


def test_a_wildcard_bind_without_allowed_hosts_says_how_to_add_them(
    settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, logger="bailian_mcp"):
        HttpSecurity.from_settings(settings, host="0.0.0.0", port=8000, allow_unauthenticated_remote=True)
    assert "BAILIAN_ALLOWED_HOSTS" in caplog.text


def test_healthz_and_auth_in_the_sse_app(settings: Settings, tmp_path: Path) -> None:
    security = HttpSecurity.from_settings(
        settings.model_copy(update={"http_token": SecretStr(TOKEN)}), host="127.0.0.1", port=8000
    )
    server = build_server(settings, token_verifier=security.token_verifier, auth=security.auth)
    add_health_route(server)
    app = server.sse_app(transport_security=security.transport_security)
    with TestClient(app, base_url="http://127.0.0.1:8000") as http:
        assert http.get("/healthz").json() == {"ok": True}
        assert http.get("/healthz", headers={"Host": "anything.example"}).status_code == 200
        assert http.get("/sse").status_code == 401
        assert http.post("/messages/?session_id=00", json={}).status_code == 401
        assert http.get("/.well-known/oauth-protected-resource").status_code == 404
