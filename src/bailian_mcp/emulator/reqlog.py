"""The record of every request the emulator received, for tests to assert on.

Each entry: ``method``, ``path``, ``query`` (dict of first values), ``headers``
(Authorization, Content-Type, Accept, User-Agent, Range and every
``X-DashScope-*`` header, lower-cased names; the key shown as ``Bearer ***``),
``body`` (the parsed JSON, or ``None`` when empty or not JSON), ``status`` (the
response status, ``None`` until it is sent) and ``time`` (epoch seconds); a request given a
fault (see `faults`) also has ``fault``, its name. A request reset before it was read is not
recorded (the service never read it).
Requests to the emulator's own ``/__emulator__/`` endpoints are not recorded. A WebSocket
handshake is recorded with method ``WEBSOCKET`` and status 101 when accepted (403 when
closed before acceptance, or the status of a denial response); its messages are not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from .faults import decision_of

CONTROL_PREFIX = "/__emulator__"
_KEPT_HEADERS = frozenset({"authorization", "content-type", "accept", "user-agent", "range"})


class RequestLog:
    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock
        self._entries: list[dict[str, Any]] = []

    def entries(self) -> list[dict[str, Any]]:
        """A snapshot (copies), oldest first."""
        return [dict(entry) for entry in self._entries]

    def clear(self) -> None:
        self._entries.clear()

    def record(self, scope: Scope, body: bytes) -> dict[str, Any]:
        """Append the entry for a request; the caller fills in ``status`` later."""
        entry = {
            "method": scope.get("method", "WEBSOCKET"),
            "path": scope["path"],
            "query": dict(parse_qsl(scope.get("query_string", b"").decode("latin-1"))),
            "headers": _selected_headers(scope),
            "body": _json_or_none(body),
            "status": None,
            "time": self._clock(),
        }
        decision = decision_of(scope)
        if decision is not None and decision.fault is not None:
            entry["fault"] = decision.fault
        self._entries.append(entry)
        return entry


def _selected_headers(scope: Scope) -> dict[str, str]:
    kept: dict[str, str] = {}
    for raw_name, raw_value in scope["headers"]:
        name = raw_name.decode("latin-1").lower()
        if name in _KEPT_HEADERS or name.startswith("x-dashscope-"):
            value = raw_value.decode("latin-1")
            if name == "authorization":
                value = "Bearer ***" if value.lower().startswith("bearer") else "***"
            kept[name] = value
    return kept


def _json_or_none(body: bytes) -> Any:
    if body.lstrip()[:1] not in (b"{", b"["):
        return None
    try:
        return json.loads(body)
    except ValueError:
        return None


class RequestLogMiddleware:
    """ASGI middleware feeding a `RequestLog`; it buffers the request body to record it."""

    def __init__(self, app: ASGIApp, log: RequestLog) -> None:
        self.app = app
        self.log = log

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        if scope["type"] == "websocket":
            await self._handshake(scope, receive, send)
            return
        chunks: list[bytes] = []
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        entry = self.log.record(scope, body)
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        async def send_and_note_status(message: Message) -> None:
            if message["type"] == "http.response.start":
                entry["status"] = message["status"]
            await send(message)

        await self.app(scope, replay, send_and_note_status)

    async def _handshake(self, scope: Scope, receive: Receive, send: Send) -> None:
        entry = self.log.record(scope, b"")

        async def send_and_note_status(message: Message) -> None:
            if entry["status"] is None:
                if message["type"] == "websocket.accept":
                    entry["status"] = 101
                elif message["type"] == "websocket.close":
                    entry["status"] = 403
                elif message["type"] == "websocket.http.response.start":
                    entry["status"] = message["status"]
            await send(message)

        await self.app(scope, receive, send_and_note_status)
