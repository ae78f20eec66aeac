"""Safety of the HTTP transports (SSE and streamable HTTP).

- DNS-rebinding protection is always on: only the Host and Origin headers listed here are accepted (loopback
  names, the bound address, and `BAILIAN_ALLOWED_HOSTS` / `BAILIAN_ALLOWED_ORIGINS`). The SDK enables it on its
  own only for a loopback `host`, so an explicit `TransportSecuritySettings` is always passed.
- `BAILIAN_HTTP_TOKEN` turns on bearer-token auth through the SDK's own `token_verifier` + `AuthSettings`
  (both transports wrap their endpoints in its `RequireAuthMiddleware`); tokens are compared in constant time.
- A non-loopback bind address without a token is refused unless `--allow-unauthenticated-remote` is given.
- `GET /healthz` answers `{"ok": true}` without a token, for deployment probes.

The token itself is never logged, printed or put into an error message.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import logging
import re
from dataclasses import dataclass
from typing import Any

from mcp.server import MCPServer
from mcp.server.auth.provider import AccessToken
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings
from pydantic import AnyHttpUrl, SecretStr
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bailian_mcp.config import Settings
from bailian_mcp.errors import ConfigurationError

logger = logging.getLogger(__name__)

ALLOW_REMOTE_FLAG = "--allow-unauthenticated-remote"
TOKEN_ENV = "BAILIAN_HTTP_TOKEN"
HOSTS_ENV = "BAILIAN_ALLOWED_HOSTS"
ORIGINS_ENV = "BAILIAN_ALLOWED_ORIGINS"
HEALTH_PATH = "/healthz"
TOKEN_CLIENT_ID = "bailian-http-token"
MIN_TOKEN_LENGTH = 16

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")
"""Host-header spellings of loopback, each accepted with and without a port."""

_PORT = re.compile(r"^(\*|[0-9]{1,5})$")
_HOST_NAME = re.compile(r"^[a-z0-9_]([a-z0-9_.-]*[a-z0-9_])?\.?$")
_ORIGIN = re.compile(r"^(https?)://([^/?#@\s]+)/?$")
_TOKEN = re.compile(r"^[\x21-\x7e]+$")


def _unbracket(host: str) -> str:
    host = host.strip()
    return host[1:-1] if host.startswith("[") and host.endswith("]") else host


def is_loopback(host: str) -> bool:
    """True for `localhost` and any address in 127.0.0.0/8 or ::1 (IPv4-mapped too); False for everything else,
    including wildcard addresses (0.0.0.0, ::), other host names and the empty string."""
    host = _unbracket(host).lower().rstrip(".")
    if host == "localhost":
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def is_wildcard(host: str) -> bool:
    """True for the "every interface" addresses 0.0.0.0 and ::."""
    try:
        return ipaddress.ip_address(_unbracket(host)).is_unspecified
    except ValueError:
        return False


def host_header_name(host: str) -> str:
    """How `host` appears in a Host header: IPv6 literals in brackets, lower case."""
    bare = _unbracket(host).lower()
    try:
        if isinstance(ipaddress.ip_address(bare), ipaddress.IPv6Address):
            return f"[{bare}]"
    except ValueError:
        pass
    return bare


def _with_any_port(value: str) -> list[str]:
    return [value, f"{value}:*"]


def normalize_host_entry(entry: str) -> list[str]:
    """One `BAILIAN_ALLOWED_HOSTS` entry as Host-header patterns. A name or address without a port matches any
    port (`mcp.example.com` → `mcp.example.com`, `mcp.example.com:*`); `name:port` and `name:*` are kept."""
    value = entry.strip().lower()
    name, port = value, None
    if value.startswith("["):
        close = value.find("]")
        if close < 0:
            raise ValueError(f"{entry!r} is not a host name, an address or host:port")
        name, rest = value[: close + 1], value[close + 1 :]
        if rest:
            if not rest.startswith(":"):
                raise ValueError(f"{entry!r} is not a host name, an address or host:port")
            port = rest[1:]
    elif value.count(":") == 1:
        name, port = value.split(":")
    if port is not None and not _PORT.match(port):
        raise ValueError(f"{entry!r} has an invalid port (give a number or *)")
    bare = _unbracket(name)
    try:
        ipaddress.ip_address(bare)
    except ValueError:
        if ":" in bare or not _HOST_NAME.match(bare):
            raise ValueError(f"{entry!r} is not a host name, an address or host:port") from None
    header_name = host_header_name(bare)
    return _with_any_port(header_name) if port is None else [f"{header_name}:{port}"]


def normalize_origin_entry(entry: str) -> list[str]:
    """One `BAILIAN_ALLOWED_ORIGINS` entry (`scheme://host[:port]`) as Origin patterns; without a port it also
    matches any port."""
    match = _ORIGIN.match(entry.strip().lower())
    if not match:
        raise ValueError(f"{entry!r} is not an origin like https://app.example.com (scheme and host, no path)")
    scheme, authority = match.groups()
    patterns = normalize_host_entry(authority)
    return [f"{scheme}://{pattern}" for pattern in patterns]


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def allowed_hosts(bind_host: str, port: int, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Host-header patterns: loopback names on any port, the bound address on its port, then `extra`."""
    patterns = [pattern for name in LOOPBACK_HOSTS for pattern in _with_any_port(name)]
    bound = host_header_name(bind_host)
    patterns.append(f"{bound}:{port}")
    if port == 80:
        patterns.append(bound)
    for entry in extra:
        try:
            patterns.extend(normalize_host_entry(entry))
        except ValueError as exc:
            raise ConfigurationError(f"{HOSTS_ENV}: {exc}") from None
    return _dedupe(patterns)


def allowed_origins(bind_host: str, port: int, extra: list[str] | tuple[str, ...] = ()) -> list[str]:
    """Origin patterns: http:// loopback origins on any port, the bound address on its port, then `extra`."""
    patterns = [pattern for name in LOOPBACK_HOSTS for pattern in _with_any_port(f"http://{name}")]
    patterns.append(f"http://{host_header_name(bind_host)}:{port}")
    for entry in extra:
        try:
            patterns.extend(normalize_origin_entry(entry))
        except ValueError as exc:
            raise ConfigurationError(f"{ORIGINS_ENV}: {exc}") from None
    return _dedupe(patterns)


def transport_security(
    bind_host: str,
    port: int,
    extra_hosts: list[str] | tuple[str, ...] = (),
    extra_origins: list[str] | tuple[str, ...] = (),
) -> TransportSecuritySettings:
    """DNS-rebinding protection, on whatever the bind address (wrong Host → 421, wrong Origin → 403)."""
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=allowed_hosts(bind_host, port, extra_hosts),
        allowed_origins=allowed_origins(bind_host, port, extra_origins),
    )


def tokens_match(given: str, expected: str) -> bool:
    """Constant-time comparison; hashing first also hides the expected token's length."""
    given_digest = hashlib.sha256(given.encode("utf-8", "replace")).digest()
    expected_digest = hashlib.sha256(expected.encode("utf-8", "replace")).digest()
    return hmac.compare_digest(given_digest, expected_digest)


def check_token(token: SecretStr) -> None:
    """Refuse a token no HTTP client can send; warn about a short one (never showing it)."""
    value = token.get_secret_value()
    if not _TOKEN.match(value):
        raise ConfigurationError(
            f"{TOKEN_ENV} must be printable ASCII without spaces (it is sent in an HTTP header); "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if len(value) < MIN_TOKEN_LENGTH:
        logger.warning(
            "%s is shorter than %d characters; use a long random value, e.g. "
            "python -c 'import secrets; print(secrets.token_urlsafe(32))'",
            TOKEN_ENV,
            MIN_TOKEN_LENGTH,
        )


class StaticTokenVerifier:
    """The SDK's `TokenVerifier` for one shared secret. The accepted token is never stored in the
    `AccessToken` (tools that read `get_access_token()` see a placeholder)."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def __repr__(self) -> str:
        return "StaticTokenVerifier(token=**********)"

    async def verify_token(self, token: str) -> AccessToken | None:
        if tokens_match(token, self._token.get_secret_value()):
            return AccessToken(token="<redacted>", client_id=TOKEN_CLIENT_ID, scopes=[])
        return None


def auth_settings() -> AuthSettings:
    """What the SDK needs to enforce a bearer token on both transports. There is no authorization server and no
    protected-resource metadata (`resource_server_url=None`), so `issuer_url` is a placeholder never served."""
    return AuthSettings(issuer_url=AnyHttpUrl("http://127.0.0.1"), resource_server_url=None, required_scopes=[])


def check_bind(host: str, *, token_set: bool, allow_unauthenticated_remote: bool) -> str | None:
    """Refuse (ConfigurationError) to serve a non-loopback address without a token unless explicitly allowed;
    return the warning to print when it is allowed that way, else None."""
    if token_set or is_loopback(host):
        return None
    if not allow_unauthenticated_remote:
        raise ConfigurationError(
            f"refusing to serve MCP over HTTP on {host!r}, a non-loopback address, without authentication: anyone "
            f"who can reach it could run paid generations with your API key. Set {TOKEN_ENV} to a long random "
            f"secret (clients then send 'Authorization: Bearer <token>'), or bind 127.0.0.1 (--host 127.0.0.1), or "
            f"pass {ALLOW_REMOTE_FLAG} if something else (an authenticating proxy, a firewall) guards this port."
        )
    rule = "!" * 78
    return (
        f"{rule}\n"
        f"WARNING: serving MCP over HTTP on {host!r} WITHOUT AUTHENTICATION ({ALLOW_REMOTE_FLAG}).\n"
        f"Anyone who can reach this port can call every tool and spend your DashScope credit.\n"
        f"Set {TOKEN_ENV} to require a bearer token, or bind 127.0.0.1.\n"
        f"{rule}"
    )


async def healthz(request: Request) -> Response:
    """Liveness probe: no token, no Host check, nothing but `{"ok": true}`."""
    return JSONResponse({"ok": True})


def add_health_route(server: MCPServer[Any]) -> None:
    """`GET /healthz` on the server's HTTP apps (custom routes are never behind the SDK's auth)."""
    server.custom_route(HEALTH_PATH, methods=["GET"], include_in_schema=False)(healthz)


@dataclass(frozen=True)
class HttpSecurity:
    """Everything the serve path needs for an HTTP transport."""

    transport_security: TransportSecuritySettings
    token_verifier: StaticTokenVerifier | None
    warning: str | None = None

    @property
    def auth(self) -> AuthSettings | None:
        return auth_settings() if self.token_verifier is not None else None

    @classmethod
    def from_settings(
        cls, settings: Settings, *, host: str, port: int, allow_unauthenticated_remote: bool = False
    ) -> HttpSecurity:
        """Raises ConfigurationError for an unsafe or unusable configuration (the message never shows the token)."""
        token = settings.http_token
        if token is not None:
            check_token(token)
        warning = check_bind(
            host, token_set=token is not None, allow_unauthenticated_remote=allow_unauthenticated_remote
        )
        security = transport_security(host, port, settings.allowed_hosts, settings.allowed_origins)
        if is_wildcard(host) and not settings.allowed_hosts:
            logger.warning(
                "Bound to %s, but only loopback Host headers (and %s) are accepted; requests that name this machine "
                "otherwise get 421. List those names in %s (comma-separated).",
                host,
                f"{host_header_name(host)}:{port}",
                HOSTS_ENV,
            )
        logger.info("HTTP bearer-token auth is %s", "on" if token is not None else "off")
        verifier = StaticTokenVerifier(token) if token is not None else None
        return cls(transport_security=security, token_verifier=verifier, warning=warning)
