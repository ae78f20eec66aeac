"""DashScope's response envelope: request ids, flat errors, JSON bodies, UTC+8 times.

Success bodies carry ``request_id`` beside ``output``; failures are flat
``{"code", "message", "request_id"}`` with the HTTP status of the error family
(protocol §1.5, §11.1). Every JSON response repeats the id in ``X-Request-ID``.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from starlette.responses import JSONResponse

CHINA_TZ = timezone(timedelta(hours=8))
"""The service reports and parses times in UTC+8 (Beijing)."""


def new_request_id() -> str:
    return str(uuid.uuid4())


class ServiceError(Exception):
    """A rule refused the request; rendered as the flat error envelope."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message


def invalid_parameter(message: str) -> ServiceError:
    """The most common refusal: 400 ``InvalidParameter``."""
    return ServiceError(400, "InvalidParameter", message)


def json_response(body: dict[str, Any], status: int = 200) -> JSONResponse:
    """A JSON body whose ``request_id`` is echoed in ``X-Request-ID``."""
    return JSONResponse(body, status_code=status, headers={"X-Request-ID": str(body["request_id"])})


def error_response(error: ServiceError, request_id: str | None = None) -> JSONResponse:
    body = {"code": error.code, "message": error.message, "request_id": request_id or new_request_id()}
    return json_response(body, error.status)


def format_time(epoch: float) -> str:
    """``YYYY-MM-DD HH:MM:SS.mmm`` in UTC+8, as in task query outputs."""
    moment = datetime.fromtimestamp(epoch, CHINA_TZ)
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"


def parse_compact_time(text: str) -> float:
    """``YYYYMMDDhhmmss`` in UTC+8 (task list filters) to epoch seconds; ValueError if malformed."""
    if len(text) != 14 or not text.isdigit():
        raise ValueError(text)
    return datetime.strptime(text, "%Y%m%d%H%M%S").replace(tzinfo=CHINA_TZ).timestamp()
