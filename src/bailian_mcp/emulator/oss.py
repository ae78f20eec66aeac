"""What the emulator's OSS look-alike shares: request ids and XML error documents."""

from __future__ import annotations

from xml.sax.saxutils import escape

from starlette.responses import Response

from .envelope import new_request_id


def oss_request_id() -> str:
    """OSS request ids are 24 upper-case hex digits."""
    return new_request_id().replace("-", "").upper()[:24]


def oss_error(status: int, code: str, message: str, **extra: str) -> Response:
    """An OSS error: ``<Error><Code>…</Code><Message>…</Message>…</Error>`` as ``application/xml``."""
    request_id = oss_request_id()
    fields = {"Code": code, "Message": message, "RequestId": request_id, "HostId": "emulator", **extra}
    xml = "".join(f"  <{name}>{escape(value)}</{name}>\n" for name, value in fields.items())
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error>\n{xml}</Error>\n'
    return Response(body, status, media_type="application/xml", headers={"x-oss-request-id": request_id})
