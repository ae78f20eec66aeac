"""The async task protocol (protocol §2): submit to a service, query, cancel, list.

Services plug in as a `TaskKind` (their models and a ``plan`` that validates a
request into a `TaskJob`, directly or as a coroutine when it must read input
files first); `submit_route` turns one into its
``POST /api/v1/services/...`` endpoint. Everything after submission is the same
for every kind and lives here.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Awaitable, Collection
from typing import Any, Protocol

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from .envelope import (
    ServiceError,
    format_time,
    invalid_parameter,
    json_response,
    new_request_id,
    parse_compact_time,
)
from .gateway import ServiceCall, authenticate, read_service_call, require_async
from .results import result_urls
from .state import EmulatorState, emulator_state
from .task_faults import with_outcome
from .tasks import Task, TaskJob

API_PREFIX = "/api/v1"
REGION = "cn-beijing"
ACCOUNT_ID = "1000000000000000"
"""The one Alibaba Cloud account every emulated key belongs to."""
MAX_PAGE_SIZE = 100


class TaskKind(Protocol):
    """An async service's own rules."""

    @property
    def models(self) -> Collection[str]:
        """Model names the endpoint accepts; others get 400 "Model not exist."."""

    def plan(self, call: ServiceCall) -> TaskJob | Awaitable[TaskJob]:
        """Validate a request for one of ``models``; raise `ServiceError` to refuse it."""


def submit_route(service: str, kind: TaskKind) -> Route:
    """``POST /api/v1/services/{service}``: check, throttle, then create a PENDING task.

    Order of checks: key (401), async header (403), body (400 ``BadRequest.*``),
    model, the kind's rules (400), then the submission rate (429). Refused
    requests create no task and do not count towards the rate. A created task
    may be given an outcome fault (see `faults`).
    """

    async def submit(request: Request) -> Response:
        state = emulator_state(request)
        api_key = authenticate(request, state.config)
        require_async(request)
        call = await read_service_call(request)
        if call.model not in kind.models:
            raise invalid_parameter("Model not exist.")
        planned = kind.plan(call)
        job = await planned if isinstance(planned, Awaitable) else planned
        now = state.now()
        if not state.limiter.admit((api_key, call.model), now):
            raise ServiceError(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later.")
        request_id = new_request_id()
        outcome = state.faults.outcome("submit")
        task = state.tasks.submit(
            model=call.model,
            service=service,
            job=with_outcome(job, outcome),
            api_key=api_key,
            request_id=request_id,
            now=now,
            stuck=outcome == "pending",
        )
        if outcome == "expired_urls":
            state.faults.expire_urls(task.task_id)
        return json_response({"output": {"task_status": "PENDING", "task_id": task.task_id}, "request_id": request_id})

    return Route(f"{API_PREFIX}/services/{service}", submit, methods=["POST"])


def result_root(request: Request, state: EmulatorState) -> str:
    return state.config.public_base_url or str(request.base_url)


def task_body(state: EmulatorState, task: Task, now: float, root: str) -> dict[str, Any]:
    """The ``GET /tasks/{id}`` answer for a live task at ``now``, shaped per status (protocol §2.2)."""
    progress = task.progress(now)
    output: dict[str, Any] = {
        "task_id": task.task_id,
        "task_status": progress.status,
        "submit_time": format_time(state.epoch(task.submitted_at)),
    }
    if progress.scheduled_at is not None:
        output["scheduled_time"] = format_time(state.epoch(progress.scheduled_at))
    if progress.ended_at is not None:
        output["end_time"] = format_time(state.epoch(progress.ended_at))
    total = task.job.metrics_total
    succeeded = failed = 0
    usage = None
    if progress.status == "SUCCEEDED":
        success = task.job.success(result_urls(state, task, root))
        output.update(success.fields)
        usage = success.usage
        succeeded = success.succeeded
        failed = (total or 0) - succeeded
        if not success.metrics:
            total = None
    elif progress.status == "FAILED" and task.job.failure is not None:
        output.update(code=task.job.failure.code, message=task.job.failure.message)
        failed = total or 0
    if total is not None:
        output["task_metrics"] = {"TOTAL": total, "SUCCEEDED": succeeded, "FAILED": failed}
    body: dict[str, Any] = {"request_id": new_request_id(), "output": output}
    if usage is not None:
        body["usage"] = usage
    return body


async def get_task(request: Request) -> Response:
    """Any valid key sees any task; unknown or expired ids answer 200 ``UNKNOWN``."""
    state = emulator_state(request)
    authenticate(request, state.config)
    task_id = request.path_params["task_id"]
    now = state.now()
    task = state.tasks.get(task_id, now)
    if task is None:
        return json_response({"request_id": new_request_id(), "output": {"task_id": task_id, "task_status": "UNKNOWN"}})
    return json_response(task_body(state, task, now, result_root(request, state)))


async def cancel_task(request: Request) -> Response:
    """Only PENDING tasks can be canceled; anything else, unknown ids included, is refused."""
    state = emulator_state(request)
    authenticate(request, state.config)
    if not state.tasks.cancel(request.path_params["task_id"], state.now()):
        raise ServiceError(
            400,
            "UnsupportedOperation",
            "Failed to cancel the task, please confirm if the task is in PENDING status.",
        )
    return json_response({"request_id": new_request_id()})


def _int_param(request: Request, name: str, default: int, high: int) -> int:
    text = request.query_params.get(name)
    if text is None:
        return default
    if not text.isdigit() or not 1 <= int(text) <= high:
        raise invalid_parameter(f"Range of {name} should be [1, {high}]")
    return int(text)


def _time_param(request: Request, name: str) -> float | None:
    text = request.query_params.get(name)
    if text is None:
        return None
    try:
        return parse_compact_time(text)
    except ValueError:
        raise invalid_parameter(f"{name} must be formatted as yyyyMMddHHmmss, got {text!r}") from None


def api_key_id(api_key: str) -> str:
    """A stable numeric id standing for a key, as the list endpoint reports it."""
    return str(int(hashlib.sha256(api_key.encode()).hexdigest()[:8], 16) % 1_000_000)


def _epoch_ms(state: EmulatorState, moment: float) -> int:
    return round(state.epoch(moment) * 1000)


def _list_item(state: EmulatorState, task: Task, now: float) -> dict[str, Any]:
    progress = task.progress(now)
    item: dict[str, Any] = {
        "api_key_id": api_key_id(task.api_key),
        "caller_parent_id": ACCOUNT_ID,
        "caller_uid": ACCOUNT_ID,
        "gmt_create": _epoch_ms(state, task.submitted_at),
        "model_name": task.model,
        "region": REGION,
        "request_id": task.request_id,
        "status": progress.status,
        "task_id": task.task_id,
        "user_api_unique_key": f"apikey:v1:{task.service.replace('/', ':')}:{task.model}",
    }
    if progress.scheduled_at is not None:
        item["start_time"] = _epoch_ms(state, progress.scheduled_at)
    if progress.ended_at is not None:
        item["end_time"] = _epoch_ms(state, progress.ended_at)
    return item


async def list_tasks(request: Request) -> Response:
    """``GET /tasks``: filter by creation time (``yyyyMMddHHmmss`` UTC+8, both ends inclusive to the
    second), model, status, key id and region; newest first, paged (``page_size`` up to 100;
    out-of-range paging is a 400)."""
    state = emulator_state(request)
    authenticate(request, state.config)
    page_no = _int_param(request, "page_no", 1, 10**9)
    page_size = _int_param(request, "page_size", 10, MAX_PAGE_SIZE)
    start, end = _time_param(request, "start_time"), _time_param(request, "end_time")
    wanted = {
        name: request.query_params[name]
        for name in ("model_name", "status", "api_key_id", "region")
        if name in request.query_params
    }
    items = []
    now = state.now()
    for task in state.tasks.tasks(now):
        created = state.epoch(task.submitted_at)
        if (start is not None and created < start) or (end is not None and created >= end + 1):
            continue
        item = _list_item(state, task, now)
        if all(item[name] == value for name, value in wanted.items()):
            items.append(item)
    first = (page_no - 1) * page_size
    return json_response(
        {
            "request_id": new_request_id(),
            "total": len(items),
            "total_page": math.ceil(len(items) / page_size),
            "page_no": page_no,
            "page_size": page_size,
            "data": items[first : first + page_size],
        }
    )


ROUTES: list[BaseRoute] = [
    Route(f"{API_PREFIX}/tasks", list_tasks, methods=["GET"]),
    Route(f"{API_PREFIX}/tasks/{{task_id}}", get_task, methods=["GET", "POST"]),
    Route(f"{API_PREFIX}/tasks/{{task_id}}/cancel", cancel_task, methods=["POST"]),
]
