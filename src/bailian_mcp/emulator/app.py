"""The ASGI app: DashScope routes (HTTP and WebSocket), OSS-like result files and uploads,
and the emulator's control endpoints.

A capability plugs in by adding its routes to `_SERVICE_ROUTES` (for an async
service, ``task_api.submit_route(path, kind)`` builds its submit endpoint; its
kind's ``plan`` may be a coroutine when it must read input files).
"""

from __future__ import annotations

import time
from collections.abc import Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from . import image2image, image_edit, results, task_api, text2image, textgen, transcription, tts, uploads, video
from .config import DEFAULT_CONFIG, EmulatorConfig
from .envelope import ServiceError, error_response
from .gateway import authenticate
from .reqlog import CONTROL_PREFIX, RequestLogMiddleware
from .state import EmulatorState, emulator_state

_SERVICE_ROUTES: list[BaseRoute] = [
    *text2image.ROUTES,
    *textgen.ROUTES,
    *image_edit.ROUTES,
    *image2image.ROUTES,
    *video.ROUTES,
    *transcription.ROUTES,
    *uploads.ROUTES,
    *tts.ROUTES,
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


_CONTROL_ROUTES: list[BaseRoute] = [
    Route(f"{CONTROL_PREFIX}/requests", _requests, methods=["GET", "DELETE"]),
    Route(f"{CONTROL_PREFIX}/health", _health, methods=["GET"]),
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
        middleware=[Middleware(RequestLogMiddleware, log=state.log)],
        exception_handlers={
            ServiceError: _service_error,
            404: _no_route,
            405: _no_route,
            Exception: _internal_error,
        },
    )
    app.state.emulator = state
    return app
