"""The ASGI app: DashScope routes (HTTP and WebSocket), OSS-like result files and uploads,
the emulator's control endpoints, and the fault layers around them (see `fault_middleware`).

A capability plugs in by adding its routes to `_SERVICE_ROUTES` (for an async
service, ``task_api.submit_route(path, kind)`` builds its submit endpoint; its
kind's ``plan`` may be a coroutine when it must read input files).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import (
    image2image,
    image_edit,
    image_generation,
    results,
    speech_http,
    task_api,
    text2image,
    textgen,
    transcription,
    tts,
    uploads,
    video,
)
from .config import DEFAULT_CONFIG, EmulatorConfig
from .envelope import ServiceError, error_response
from .fault_middleware import FaultGate, FaultReplies
from .faults import NO_FAULTS, FaultPlan
from .gateway import authenticate
from .reqlog import CONTROL_PREFIX, RequestLogMiddleware
from .state import EmulatorState, emulator_state

_SERVICE_ROUTES: list[BaseRoute] = [
    *text2image.ROUTES,
    *textgen.ROUTES,
    *image_edit.ROUTES,
    *image2image.ROUTES,
    *image_generation.ROUTES,
    *video.ROUTES,
    *transcription.ROUTES,
    *uploads.ROUTES,
    *tts.ROUTES,
    *speech_http.ROUTES,
]


async def _requests(request: Request) -> Response:
    """``GET``: every recorded request, oldest first; ``DELETE``: forget them."""
    log = emulator_state(request).log
    if request.method == "DELETE":
        log.clear()
        return Response(status_code=204)
    return JSONResponse(log.entries())


async def _health(request: Request) -> Response:
    return JSONResponse({"ok": True})


async def _faults(request: Request) -> Response:
    """``GET``: the fault plan; ``PUT``: replace it (JSON, see `faults.FaultPlan`); ``DELETE``: no faults."""
    faults = emulator_state(request).faults
    if request.method == "PUT":
        try:
            plan = FaultPlan.from_json(json.loads(await request.body()))
        except ValueError as error:  # bad JSON included
            return JSONResponse({"error": str(error)}, status_code=400)
        faults.replace(plan)
    elif request.method == "DELETE":
        faults.replace(NO_FAULTS)
    return JSONResponse(faults.plan.to_json())


async def _fault_stats(request: Request) -> Response:
    """``GET``: requests seen and faults injected (per endpoint class and in total); ``DELETE``: reset them."""
    faults = emulator_state(request).faults
    if request.method == "DELETE":
        faults.clear_stats()
        return Response(status_code=204)
    return JSONResponse(faults.stats())


_CONTROL_ROUTES: list[BaseRoute] = [
    Route(f"{CONTROL_PREFIX}/requests", _requests, methods=["GET", "DELETE"]),
    Route(f"{CONTROL_PREFIX}/health", _health, methods=["GET"]),
    Route(f"{CONTROL_PREFIX}/faults", _faults, methods=["GET", "PUT", "DELETE"]),
    Route(f"{CONTROL_PREFIX}/faults/stats", _fault_stats, methods=["GET", "DELETE"]),
]


async def _service_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ServiceError)
    return error_response(exc)


async def _no_route(request: Request, exc: Exception) -> Response:
    """Unknown path or method: 404 ``NotFound`` — after the key check under ``/api/v1``."""
    error = ServiceError(404, "NotFound", "Not found.")
    if request.url.path.startswith(task_api.API_PREFIX + "/"):
        try:
            authenticate(request, emulator_state(request).config)
        except ServiceError as refused:
            error = refused
    return error_response(error)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(
        ServiceError(
            500,
            "InternalError",
            "An internal error has occured, please try again later or contact service support.",
        )
    )


def create_app(config: EmulatorConfig = DEFAULT_CONFIG, *, clock: Callable[[], float] = time.monotonic) -> Starlette:
    """A fresh emulator; its state is ``app.state.emulator``. ``clock``: monotonic seconds (tests fake it)."""
    state = EmulatorState(config, clock)
    app = Starlette(
        routes=[*_SERVICE_ROUTES, *task_api.ROUTES, *results.ROUTES, *_CONTROL_ROUTES],
        middleware=[
            Middleware(FaultGate, faults=state.faults),
            Middleware(RequestLogMiddleware, log=state.log),
            Middleware(FaultReplies, faults=state.faults),
        ],
        exception_handlers={
            ServiceError: _service_error,
            404: _no_route,
            405: _no_route,
            Exception: _internal_error,
        },
    )
    app.state.emulator = state
    return app
