"""DashScope's server-sent events (protocol §4.2).

Each event is ``id:N``, ``event:result|error``, an ``:HTTP_STATUS/NNN`` comment line and one
compact JSON ``data:`` line, then a blank line; ids count from 1 and the stream simply ends (no
``[DONE]``). A request that negotiated SSE and is then refused gets HTTP 200 carrying a single
``event:error`` with ``:HTTP_STATUS/400`` (or the error's status).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

from starlette.responses import Response, StreamingResponse

from .envelope import ServiceError, new_request_id

SSE_MEDIA_TYPE = "text/event-stream;charset=UTF-8"


def sse_event(number: int, event: str, status: int, data: dict[str, Any]) -> bytes:
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"id:{number}\nevent:{event}\n:HTTP_STATUS/{status}\ndata:{body}\n\n".encode()


def error_event(number: int, error: ServiceError, request_id: str) -> bytes:
    return sse_event(
        number, "error", error.status, {"code": error.code, "message": error.message, "request_id": request_id}
    )


def sse_response(events: AsyncIterator[bytes], request_id: str) -> Response:
    return StreamingResponse(
        events, media_type=SSE_MEDIA_TYPE, headers={"X-Request-ID": request_id, "Cache-Control": "no-cache"}
    )


def sse_error_response(error: ServiceError) -> Response:
    """A refusal on a stream: HTTP 200, one ``event:error`` carrying the real status and the flat error."""
    request_id = new_request_id()
    content = error_event(1, error, request_id)
    return Response(content, 200, media_type=SSE_MEDIA_TYPE, headers={"X-Request-ID": request_id})
