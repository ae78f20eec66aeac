"""Checks every DashScope endpoint makes before its own rules: key, async/SSE headers, body envelope."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import HTTPConnection, Request

from .config import EmulatorConfig
from .envelope import ServiceError
from .sources import OFFLINE, Sources, sources_for
from .state import EmulatorState, emulator_state


def authenticate(request: HTTPConnection, config: EmulatorConfig) -> str:
    """The caller's API key, or 401 ``InvalidApiKey`` (protocol §11.1)."""
    header = request.headers.get("authorization", "").strip()
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if not header or (scheme.lower() == "bearer" and not token):
        raise ServiceError(401, "InvalidApiKey", "No API-key provided.")
    if scheme.lower() != "bearer" or (config.api_keys is not None and token not in config.api_keys):
        raise ServiceError(401, "InvalidApiKey", "Invalid API-key provided.")
    return token


def require_async(request: Request) -> None:
    """Async-only services refuse calls without ``X-DashScope-Async: enable`` (protocol §2.1)."""
    if request.headers.get("x-dashscope-async", "").strip().lower() != "enable":
        raise ServiceError(403, "AccessDenied", "current user api does not support synchronous calls.")


def require_sync(request: Request) -> None:
    """Synchronous-only services refuse ``X-DashScope-Async: enable`` (protocol §2.1, §11.1)."""
    if request.headers.get("x-dashscope-async", "").strip().lower() == "enable":
        raise ServiceError(403, "AccessDenied", "Current user api does not support asynchronous calls.")


def wants_sse(request: Request) -> bool:
    """``X-DashScope-SSE: enable`` or ``Accept: text/event-stream`` asks for a stream (protocol §1.3)."""
    return (
        request.headers.get("x-dashscope-sse", "").strip().lower() == "enable"
        or "text/event-stream" in request.headers.get("accept", "").lower()
    )


@dataclass(frozen=True)
class ServiceCall:
    """The native request envelope ``{"model", "input", "parameters"}`` (protocol §1.4)."""

    model: str
    input: dict[str, Any]
    parameters: dict[str, Any]
    sources: Sources = field(default=OFFLINE, compare=False)
    """Where the request's input files (URLs, ``oss://`` keys) are read from."""


_ILLEGAL_INPUT = ServiceError(400, "BadRequest.IllegalInput", "The input parameter requires json format.")


async def read_service_call(request: Request) -> ServiceCall:
    """Parse the body; 400 ``BadRequest.*`` when it is not a usable envelope."""
    try:
        body = json.loads(await request.body())
    except (ValueError, UnicodeDecodeError):
        raise _ILLEGAL_INPUT from None
    if not isinstance(body, dict):
        raise _ILLEGAL_INPUT
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise ServiceError(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.')
    payload = body.get("input")
    if payload is None:
        raise ServiceError(400, "BadRequest.EmptyInput", "Required input parameter missing from request.")
    parameters = body.get("parameters")
    if parameters is None:
        parameters = {}
    if not isinstance(payload, dict) or not isinstance(parameters, dict):
        raise _ILLEGAL_INPUT
    return ServiceCall(model, payload, parameters, sources_for(request))


async def read_sync_call(request: Request) -> tuple[EmulatorState, ServiceCall]:
    """The emulator's state and the parsed call of a request to an endpoint that answers at once (checked in the
    service's order: the key, the async header, the body)."""
    state = emulator_state(request)
    authenticate(request, state.config)
    require_sync(request)
    return state, await read_service_call(request)
