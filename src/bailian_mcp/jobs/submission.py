"""Sending a job: its local inputs uploaded, its record written, its request sent once, its fate recorded.

build (validate) ─► upload local inputs ─► store.create ─► send ─► attach the task (async) │ exchange (direct)
                                            SUBMITTING / RUNNING      │
                                                                      └─ no reply ─► SUBMIT_UNCERTAIN, never re-sent
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import anyio

from bailian_mcp.capabilities.base import Request
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient, TaskSnapshot
from bailian_mcp.dashscope.uploads import OSS_RESOLVE_HEADER, upload_file
from bailian_mcp.errors import BailianError
from bailian_mcp.inputs import LocalFile
from bailian_mcp.jobs.store import Job, JobStore, JobStoreWriteError

logger = logging.getLogger(__name__)
INLINE_DATA_KEPT = 256  # characters of a data: URI kept in the job record


class SubmitUncertainError(BailianError):
    """The request may have reached DashScope but no reply came back; the job is on record."""


def for_the_record(value: Any) -> Any:
    """`value` as the job store keeps it (and a dry run shows it): inline `data:` URIs (images of many MB) shortened
    to their digest, local files not uploaded yet named."""
    if isinstance(value, LocalFile):
        return f"<{value.path} ({value.size} bytes), uploaded when sent>"
    if isinstance(value, str) and value.startswith("data:") and len(value) > INLINE_DATA_KEPT:
        digest = hashlib.sha256(value.encode()).hexdigest()
        return f"{value.split(',', 1)[0]},… ({len(value)} characters, sha256 {digest})"
    if isinstance(value, dict):
        return {k: for_the_record(v) for k, v in value.items()}
    if isinstance(value, list):
        return [for_the_record(v) for v in value]
    return value


async def upload_inputs(
    client: DashScopeClient, store: JobStore, request: Request, report: Callable[[str], Awaitable[None]]
) -> Request:
    """`request` with every local file of its body uploaded to temporary storage and referred to as `oss://`."""
    resolve_oss = False
    wire_model = str(request.body.get("model", request.model.name))

    async def convert(value: Any) -> Any:
        nonlocal resolve_oss
        if isinstance(value, LocalFile):
            await report(f"Uploading {value.path.name} ({value.size} bytes).")
            value = await upload_file(client, value, model=wire_model, cache=store)
        if isinstance(value, str) and value.startswith("oss://"):
            resolve_oss = True
        if isinstance(value, dict):
            return {k: await convert(v) for k, v in value.items()}
        if isinstance(value, list):
            return [await convert(v) for v in value]
        return value

    body = await convert(request.body)
    headers = {**request.headers, **(OSS_RESOLVE_HEADER if resolve_oss else {})}
    return request.with_body(body, headers)


class UnrecordedTaskError(BailianError):
    """DashScope created (and will charge for) a task whose id the job store could not record: the id is said to the
    caller and written to the log, so the task is never orphaned; a later start reconciles the job."""

    def __init__(self, job: Job, task_id: str, exc: JobStoreWriteError) -> None:
        self.task_id = task_id
        logger.warning("DashScope created task %s for job %s; the job store could not record it", task_id, job.job_id)
        super().__init__(
            f"DashScope created task {task_id} for job {job.job_id} (it is paid for), but the job store could not "
            f"record it: {exc} Keep the task id: once the store can be written, get_task with task_id={task_id} "
            "collects the result. Do not generate again.",
            next_step="resume",
        )


class AlreadySentError(BailianError):
    """The job's request went out before (from another process, or before a restart): it is never sent twice."""


async def submit_task(client: DashScopeClient, store: JobStore, job: Job, request: Request) -> TaskSnapshot:
    """POST the task and record its id. Once the POST is on its way, a cancellation waits for the reply, so the task
    id is always recorded (and the task can then be cancelled or collected)."""
    try:
        await client.pace(request.model.rate_bucket)
        with anyio.CancelScope(shield=True):
            if not await store.claim_sending(job.job_id):
                raise AlreadySentError(f"Job {job.job_id} was sent already; it is not sent again.", next_step="resume")
            snapshot = await client.submit(
                request.path, request.body, headers=request.headers, bucket=request.model.rate_bucket, paced=True
            )
            try:
                await store.attach_task(job.job_id, snapshot.task_id, snapshot.status)
            except JobStoreWriteError as exc:
                store.unrecorded[snapshot.task_id] = job.job_id  # recorded when the job is next asked for
                raise UnrecordedTaskError(job, snapshot.task_id, exc) from exc
    except (AlreadySentError, UnrecordedTaskError):
        raise
    except BaseException as exc:
        replacement = await record_send_failure(store, job, exc, creates_task=True)
        if replacement is exc:
            raise
        raise replacement from exc
    return snapshot


async def record_send_failure(store: JobStore, job: Job, exc: BaseException, *, creates_task: bool) -> BaseException:
    """Record why a request failed and return what to raise: never lose track of a maybe-created job.

    `creates_task`: the request creates a DashScope task (which the task list would show), rather than being a
    direct exchange.
    """
    raised: BaseException
    if isinstance(exc, errors.DashScopeConnectionError) and exc.request_sent:
        status, error = "SUBMIT_UNCERTAIN", _error_dict(exc)
        outcome = "" if creates_task else " DashScope may have done (and charged) it."
        raised = SubmitUncertainError(
            f"{exc} The request may have reached DashScope, so it was not re-sent (that could pay twice). "
            f"Job {job.job_id} is recorded as SUBMIT_UNCERTAIN.{outcome}",
            next_step="list_tasks" if creates_task else None,
        )
    elif isinstance(exc, errors.DashScopeError):
        status, error, raised = "REJECTED", _error_dict(exc), exc
    else:  # cancelled (or crashed) while the request was in flight: it may have been received
        status, error, raised = "SUBMIT_UNCERTAIN", {"code": "Interrupted", "message": "interrupted while sending"}, exc
    with anyio.CancelScope(shield=True):
        await store.set_status(job.job_id, status, error=error)
    return raised


def _error_dict(exc: errors.DashScopeError) -> dict[str, Any]:
    return {"code": exc.code or type(exc).__name__, "message": str(exc)}
