"""Small facts of the wire format: final task states, the service's UTC+8 timestamps and pre-signed result URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from urllib.parse import parse_qs, urlsplit, urlunsplit

TASK_FINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"})  # a task in these states changes no more
SERVICE_TZ = timezone(timedelta(hours=8))  # submit_time/end_time are Beijing time, without an offset
RESULT_TTL = timedelta(hours=24)


def parse_service_time(value: str | None) -> datetime | None:
    """`"2024-03-01 17:38:24.817"` (UTC+8) as an aware datetime, or None."""
    if not value:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=SERVICE_TZ)
        except ValueError:
            continue
    return None


def url_expiry(url: str, end_time: str | None = None) -> str | None:
    """When a result URL stops working (ISO 8601 UTC): its signed `Expires`, else end_time + 24 h."""
    expires = parse_qs(urlsplit(url).query).get("Expires")
    if expires and expires[0].isdigit():
        moment = datetime.fromtimestamp(int(expires[0]), tz=UTC)
    else:
        ended = parse_service_time(end_time)
        if ended is None:
            return None
        moment = ended + RESULT_TTL
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


WEBSOCKET_PATH = "/api-ws/v1/inference"


def websocket_url(base_url: str) -> str:
    """`wss://host/api-ws/v1/inference` for an HTTP base URL's host (`ws://` for plain http)."""
    parts = urlsplit(base_url)
    scheme = "wss" if parts.scheme in ("https", "wss") else "ws"
    return urlunsplit((scheme, parts.netloc, WEBSOCKET_PATH, "", ""))
