"""Where the faults of `faults` happen: two ASGI layers around the request log.

::

    FaultGate ─► RequestLogMiddleware ─► FaultReplies ─► routes

`FaultGate` classifies the request (`endpoint_class`), asks the `FaultInjector` for a
`Decision`, waits out its latency and performs ``reset_before`` (so a request reset before it
was read is not logged); otherwise it passes the decision on in the scope. `FaultReplies`
answers the injected error replies itself (logged, with their status) and, for the faults
that need the endpoint's own answer, runs the endpoint and changes what reaches the client:
swallowed (``reset_after``), cut (``truncate``, ``stall``), slowed (``slow``) or replaced by
garbage (``malformed``). ``drop`` is carried out by the speech-synthesis endpoint, which reads
the decision from its scope.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import anyio
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .connection import ConnectionDropped, drop_connection, until_disconnected
from .envelope import ServiceError, error_response, new_request_id
from .faults import FAULT_SCOPE_KEY, Decision, EndpointClass, FaultInjector, decision_of
from .oss import oss_error
from .reqlog import CONTROL_PREFIX
from .results import RESULTS_PREFIX
from .task_api import API_PREFIX
from .tts import WS_PATH
from .uploads import UPLOAD_PATH

MALFORMED_BODY = b'{"request_id": "\xff\xfe<html><body>502 Bad Gateway</body></html>'
"""What a ``malformed`` reply carries instead of the endpoint's JSON."""

_ERRORS: dict[str, tuple[int, str, str]] = {
    "throttle": (429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
    "server_error": (
        500,
        "InternalError",
        "An internal error has occured, please try again later or contact service support.",
    ),
    "unavailable": (
        503,
        "ModelServingError",
        "Too many requests. Your requests are being throttled due to system capacity limits. Please try again later.",
    ),
}


def endpoint_class(scope: Mapping[str, Any]) -> EndpointClass | None:
    """The endpoint class of a request (see `faults`); ``None`` for the emulator's own endpoints."""
    path: str = scope["path"]
    if scope["type"] == "websocket":
        return "websocket" if path == WS_PATH else None
    if path.startswith(CONTROL_PREFIX):
        return None
    if path.startswith(f"/{RESULTS_PREFIX}/"):
        return "download"
    if path == UPLOAD_PATH or path == f"{API_PREFIX}/uploads":
        return "upload"
    if path == f"{API_PREFIX}/tasks" or path.startswith(f"{API_PREFIX}/tasks/"):
        return "task"
    if path.startswith(f"{API_PREFIX}/services/"):
        headers = {name.lower(): value for name, value in scope.get("headers", [])}
        asynchronous = headers.get(b"x-dashscope-async", b"").strip().lower() == b"enable"
        return "submit" if asynchronous else "sync"
    return None


class FaultGate:
    """Decides each request's fault, delays it, and resets the connection for ``reset_before``."""

    def __init__(self, app: ASGIApp, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        endpoint = endpoint_class(scope) if scope["type"] in ("http", "websocket") else None
        if endpoint is None:
            await self.app(scope, receive, send)
            return
        decision = self.faults.decide(endpoint)
        if decision.delay > 0:
            await anyio.sleep(decision.delay)
        if decision.fault == "reset_before":
            await drop_connection(scope, receive, reset=True, why="reset before the request was read")
            return
        if decision.fault is not None:
            scope = {**scope, FAULT_SCOPE_KEY: decision}
        await self.app(scope, receive, send)


def _error_reply(decision: Decision, scope: Scope) -> Response:
    status, code, message = _ERRORS[str(decision.fault)]
    if scope["type"] == "websocket":
        return JSONResponse({"code": code, "message": message, "request_id": new_request_id()}, status)
    if str(scope["path"]).startswith("/api/"):
        return error_response(ServiceError(status, code, message))
    return oss_error(status, code, message)


async def _refuse_handshake(response: Response, scope: Scope, receive: Receive, send: Send) -> None:
    """A WebSocket handshake answered with an HTTP error (or closed, where denials are not supported)."""
    await receive()  # websocket.connect
    if "websocket.http.response" in scope.get("extensions", {}):
        await response(scope, receive, send)
    else:
        await send({"type": "websocket.close", "code": 1008})


def _without_length(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    return [(name, value) for name, value in headers if name.lower() not in (b"content-length", b"content-type")]


class _Reply:
    """Stands between an endpoint and the client for the faults that change its reply."""

    def __init__(self, decision: Decision, scope: Scope, receive: Receive, send: Send) -> None:
        self.fault = decision.fault
        self.scope = scope
        self.receive = receive
        self.send = send
        self.start: Message | None = None
        self.body: list[bytes] = []
        self.cut = False
        self.slow_bytes_per_second = 1
        self.stall_seconds = 0.0

    async def __call__(self, message: Message) -> None:
        if self.cut or self.fault == "reset_after":
            return  # the reply is lost
        if message["type"] == "http.response.start":
            self.start = message
            if self.fault == "slow":
                await self.send(message)
            return
        if message["type"] != "http.response.body" or self.start is None:
            await self.send(message)
            return
        body: bytes = message.get("body", b"")
        more = bool(message.get("more_body", False))
        if self.fault == "truncate":
            await self._cut(body if more else body[: len(body) // 2], "the reply was cut short")
        elif self.fault == "stall":
            await self._stall(body if more else body[: len(body) // 2])
        elif self.fault == "slow":
            await self._trickle(body, more)
        elif self.fault == "malformed":
            self.body.append(body)
            if not more:
                headers = [
                    *_without_length(list(self.start.get("headers", []))),
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(MALFORMED_BODY)).encode()),
                ]
                await self.send({**self.start, "headers": headers})
                await self.send({"type": "http.response.body", "body": MALFORMED_BODY, "more_body": False})
        else:
            await self.send(self.start)
            await self.send(message)

    async def _cut(self, part: bytes, why: str) -> None:
        assert self.start is not None
        self.cut = True
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": part, "more_body": True})
        await drop_connection(self.scope, self.receive, reset=False, why=why)

    async def _stall(self, part: bytes) -> None:
        assert self.start is not None
        self.cut = True
        await self.send(self.start)
        await self.send({"type": "http.response.body", "body": part, "more_body": True})
        with anyio.move_on_after(self.stall_seconds):
            await until_disconnected(self.receive)
            return
        await drop_connection(self.scope, self.receive, reset=False, why="the download stalled")

    async def _trickle(self, body: bytes, more: bool) -> None:
        rate = self.slow_bytes_per_second
        step = max(1, rate // 20)
        for offset in range(0, len(body), step):
            if offset:
                await anyio.sleep(step / rate)
            last = offset + step >= len(body)
            await self.send(
                {"type": "http.response.body", "body": body[offset : offset + step], "more_body": more or not last}
            )
        if not body and not more:
            await self.send({"type": "http.response.body", "body": b"", "more_body": False})


class FaultReplies:
    """Carries out the decided fault on the endpoint's reply (or instead of it)."""

    def __init__(self, app: ASGIApp, faults: FaultInjector) -> None:
        self.app = app
        self.faults = faults

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        decision = decision_of(scope)
        if decision is None or decision.fault is None or decision.fault == "drop":
            await self.app(scope, receive, send)
            return
        if decision.fault in _ERRORS:
            response = _error_reply(decision, scope)
            if scope["type"] == "websocket":
                await _refuse_handshake(response, scope, receive, send)
            else:
                await response(scope, receive, send)
            return
        reply = _Reply(decision, scope, receive, send)
        faults = self.faults.plan.of(decision.endpoint)
        reply.slow_bytes_per_second = faults.slow_bytes_per_second
        reply.stall_seconds = faults.stall_seconds
        await self.app(scope, receive, reply)
        if decision.fault == "reset_after":
            await drop_connection(scope, receive, reset=True, why="reset after the request was processed")


__all__ = ["ConnectionDropped", "FaultGate", "FaultReplies", "endpoint_class"]
