"""Looking after jobs as a whole: list them (adopting tasks DashScope has that this store lacks), cancel one."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bailian_mcp import catalog
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.dashscope.protocol import SERVICE_TZ
from bailian_mcp.errors import BailianError, InputError
from bailian_mcp.jobs.quotes import day_start
from bailian_mcp.jobs.results import (
    Cost,
    ErrorInfo,
    JobResult,
    JobSummary,
    TaskList,
    TodaysSpending,
    iso_utc,
    sum_costs,
)
from bailian_mcp.jobs.status import JOB_FINAL, job_status
from bailian_mcp.jobs.store import Job, JobStore

REMOTE_PAGE_SIZE = 100
REMOTE_MAX_PAGES = 5
REMOTE_WINDOW_HOURS = 24  # DashScope lists the tasks of the last 24 hours


def remote_since(since: float = 0.0) -> float:
    """`since`, or the start of what DashScope's task list covers (a minute inside it) if that is later."""
    return max(since, time.time() - REMOTE_WINDOW_HOURS * 3600 + 60)


def _service_time(moment: float) -> str:
    """The task list's time filter format: YYYYMMDDhhmmss in UTC+8."""
    return datetime.fromtimestamp(moment, tz=SERVICE_TZ).strftime("%Y%m%d%H%M%S")


def summarize(job: Job) -> JobSummary:
    result = job.result or {}
    cost = Cost.model_validate(result["cost"]) if result.get("cost") else None
    error = job.error or result.get("error")
    return JobSummary(
        job_id=job.job_id,
        task_id=job.task_id,
        capability=job.capability,
        model=job.model,
        status=job.status,
        created_at=iso_utc(job.created_at) or "",
        finished_at=iso_utc(job.finished_at),
        outputs=len(result.get("outputs") or []),
        cost=cost,
        error=ErrorInfo.model_validate(error) if error else None,
        adopted=job.fingerprint == "adopted",
    )


# A task is matched to the job whose submission got no reply when it was created between CLOCK_SKEW seconds
# before that submission was sent and REPLY_WINDOW seconds after (the HTTP timeout, with retries of a throttled
# POST), and neither it nor the job could be matched otherwise.
CLOCK_SKEW = 10.0
REPLY_WINDOW = 180.0


@dataclass(frozen=True)
class _Unknown:
    """A task DashScope lists that no job of this server sent: no job holds it, or an adopted one does."""

    task_id: str
    status: str
    model: catalog.ModelSpec
    created_at: float | None
    adopted: bool = False


@dataclass(frozen=True)
class SyncOutcome:
    adopted: int  # tasks made elsewhere with this key, now on record
    matched: int  # tasks found for jobs whose submission got no reply


async def sync_remote(store: JobStore, client: DashScopeClient, *, since: float) -> SyncOutcome:
    """Merge DashScope's task list into the store: refresh the status of the tasks it has; give a task it lacks (or
    adopted) to the job whose submission got no reply, when exactly one such job can have created it and it is the
    only task that job can have created (same model, created within the submission's window); adopt the others.
    Whichever looks first (a listing, a job's resumption), a task ends with the job that paid for it.

    Tasks of models outside the catalogue are left alone.
    """
    await store.mark_lost_submissions(sent_before=time.time() - REPLY_WINDOW)
    unknown: list[_Unknown] = []
    now = time.time()
    for page in range(1, REMOTE_MAX_PAGES + 1):
        reply = await client.list_tasks(
            start_time=_service_time(since), end_time=_service_time(now), page_no=page, page_size=REMOTE_PAGE_SIZE
        )
        for item in reply.get("data") or []:
            found = await _refresh(store, item)
            if found is not None:
                unknown.append(found)
        if page >= int(reply.get("total_page") or 1):
            break
    matched = 0
    if unknown:
        for job, task in _unambiguous_pairs(await store.unanswered(since=since - REPLY_WINDOW), unknown):
            await store.attach_task(job.job_id, task.task_id, task.status)
            unknown.remove(task)
            matched += 1
    for task in (task for task in unknown if not task.adopted):
        await store.adopt(
            task_id=task.task_id,
            capability=task.model.capability,
            model=task.model.name,
            status=task.status,
            created_at=task.created_at if task.created_at is not None else time.time(),
        )
    return SyncOutcome(adopted=sum(not task.adopted for task in unknown), matched=matched)


async def _refresh(store: JobStore, item: dict[str, Any]) -> _Unknown | None:
    """Update the job holding a listed task; a listed task of a catalogue model that no job sent (none holds it,
    or an adopted one does), returned."""
    task_id, status = str(item.get("task_id") or ""), str(item.get("status") or "UNKNOWN")
    if not task_id:
        return None
    known = await store.by_task(task_id)
    if known is not None:
        if not known.final and known.result is None and status != known.status:
            await store.set_status(known.job_id, status)
        if known.fingerprint != "adopted":
            return None
    model = catalog.by_wire_name(str(item.get("model_name") or ""))
    if model is None or not model.endpoint.asynchronous or model.capability not in CAPABILITIES:
        return None
    created = item.get("gmt_create")
    created_at = created / 1000 if isinstance(created, int | float) else None
    return _Unknown(task_id, status, model, created_at, adopted=known is not None)


def _unambiguous_pairs(unanswered: list[Job], unknown: list[_Unknown]) -> list[tuple[Job, _Unknown]]:
    """(job, task) pairs where the job's reply was lost, the task is the only one it can have created, and it is
    the only job (lost replies and replies still on their way alike) that can have created the task."""

    def could_have_made(job: Job, task: _Unknown) -> bool:
        sent = job.submitted_at
        return (
            sent is not None
            and task.created_at is not None
            and job.model == task.model.name
            and sent - CLOCK_SKEW <= task.created_at <= sent + REPLY_WINDOW
        )

    pairs = []
    for job in unanswered:
        if job.status != "SUBMIT_UNCERTAIN":
            continue
        tasks = [task for task in unknown if could_have_made(job, task)]
        if len(tasks) == 1 and [other for other in unanswered if could_have_made(other, tasks[0])] == [job]:
            pairs.append((job, tasks[0]))
    return pairs


async def list_jobs(
    store: JobStore,
    client: DashScopeClient,
    *,
    status: str | None = None,
    capability: str | None = None,
    since_hours: float = 24 * 7,
    limit: int = 50,
    include_remote: bool = True,
    budget_cny: float | None = None,
) -> TaskList:
    """The store's jobs, newest first, merged with DashScope's own list of the last 24 hours; and today's spending
    against the budget `budget_cny`."""
    since = time.time() - since_hours * 3600
    synced, notes = SyncOutcome(adopted=0, matched=0), []
    if include_remote and client.has_api_key:
        try:
            synced = await sync_remote(store, client, since=remote_since(since))
        except errors.DashScopeError as exc:
            notes.append(f"DashScope's task list could not be read ({exc}); these are this server's records only.")
    jobs = await store.list(status=status, capability=capability, since=since, limit=limit)
    summaries = [summarize(job) for job in jobs]
    if synced.matched:
        notes.append(
            f"Found the task of {synced.matched} job(s) whose submission got no reply (same model, created while "
            "it was being sent)."
        )
    if synced.adopted:
        notes.append(f"Adopted {synced.adopted} task(s) created elsewhere with this key.")
    since_midnight = day_start()
    spending = await store.spending(since=since_midnight)
    today = TodaysSpending(
        since=iso_utc(since_midnight) or "",
        spent_cny=round(spending.spent_cny, 6),
        under_way_cny=round(spending.under_way_cny, 6),
        budget_cny=budget_cny,
    )
    return TaskList(
        jobs=summaries,
        total_cost=sum_costs((s.cost for s in summaries if s.cost is not None), of="jobs"),
        today=today,
        adopted=synced.adopted,
        message=" ".join(notes),
        next_step="resume" if synced.matched or synced.adopted else None,
    )


TASK_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,127}")  # what a DashScope task id can be (uuids in practice)


async def find_job(store: JobStore, client: DashScopeClient, handle: str) -> Job:
    """The job of a job id or DashScope task id. A task this store has never seen (made by a script, a teammate with
    the same key, the console) is asked for (a status query costs nothing) and adopted from DashScope's task list
    when it is of a catalogue model; refused with the reason otherwise, once and for all."""
    handle = handle.strip()
    job = await store.find(handle)
    if job is not None:
        return job
    if handle.startswith("job_") or not TASK_ID.fullmatch(handle) or not client.has_api_key:
        raise InputError(
            "task_id",
            handle,
            "no job or task with this id is in this server's job store; "
            "pass the job_id or task_id a generation call returned",
        )
    snapshot = await client.get_task(handle)
    if snapshot.status == "UNKNOWN":
        raise InputError(
            "task_id",
            handle,
            "",
            message=f"Invalid task_id={handle!r}: DashScope ({client.base_url}) does not know this task for this API "
            "key: it was never made there (another key or region), or it ended more than 24 hours ago and has "
            "expired. Nothing is waiting; generate again if you still need the result.",
        )
    await sync_remote(store, client, since=remote_since())
    job = await store.by_task(handle)
    if job is None:
        raise BailianError(
            f"Task {handle} is {snapshot.status} on DashScope, but it is not of a model this server serves (or not "
            "in DashScope's task list of the last 24 hours), so it cannot be collected here."
        )
    return job


async def cancel_job(store: JobStore, client: DashScopeClient, handle: str) -> JobResult:
    """Cancel a job's DashScope task while it is PENDING; otherwise say what will happen instead."""
    job = await find_job(store, client, handle)
    common: dict[str, Any] = {
        "job_id": job.job_id,
        "task_id": job.task_id,
        "capability": job.capability,
        "model": job.model,
    }
    if job.status in JOB_FINAL:
        return JobResult(
            **common,
            status=job_status(job.status),
            done=True,
            message=f"The job already ended ({job.status}); there is nothing to cancel.",
        )
    if job.part_count:
        return await _cancel_parts(store, client, job)
    if job.task_id is None:
        raise BailianError(
            f"Job {job.job_id} is a single request already sent to DashScope (not a queued task), which DashScope "
            "cannot cancel; its result is stored when it arrives.",
            next_step="resume",
        )
    try:
        await client.cancel(job.task_id)
    except errors.InvalidRequestError as exc:
        # A cancel resent after its reply was lost is refused (the task is no longer PENDING: our first one
        # worked), and a refusal's body may be unreadable; the task's state says what happened.
        snapshot = await client.get_task(job.task_id)
        if snapshot.status != "CANCELED" and exc.code != "UnsupportedOperation":
            raise
        await store.set_status(job.job_id, snapshot.status)
        if snapshot.status == "CANCELED":
            return _cancelled(common, job.task_id)
        return JobResult(
            **common,
            status=job_status(snapshot.status),
            done=snapshot.terminal,
            message=f"DashScope only cancels tasks that are still PENDING; this one is {snapshot.status}."
            + ("" if snapshot.terminal else " It will finish and be charged."),
            next_step="resume",
        )
    await store.set_status(job.job_id, "CANCELED")
    return _cancelled(common, job.task_id)


def _cancelled(common: dict[str, Any], task_id: str) -> JobResult:
    return JobResult(
        **common,
        status="CANCELED",
        done=True,
        message=f"Task {task_id} was cancelled before it ran; nothing was generated or charged.",
    )


CANCELLED_UNSENT = {"code": "Canceled", "message": "the job was cancelled before this part was sent"}


async def _cancel_parts(store: JobStore, client: DashScopeClient, parent: Job) -> JobResult:
    """Cancel each task of a job made of several while it is PENDING; the job ends CANCELED when they all are."""
    recorded = {part.part: part for part in await store.parts(parent.job_id)}
    results = []
    for index, body in enumerate(parent.request["parts"]):
        part = recorded.get(index)
        if part is None:  # never recorded, so never sent: recorded now as never to be sent
            part = await store.create(
                capability=parent.capability,
                model=parent.model,
                base_url=parent.base_url,
                params={},
                request=body,
                status="CANCELED",
                parent_id=parent.job_id,
                part=index,
            )
            await store.set_status(part.job_id, "CANCELED", error=CANCELLED_UNSENT)
        results.append(await cancel_job(store, client, part.job_id))
    cancelled = sum(result.status == "CANCELED" for result in results)
    everything = cancelled == len(results)
    if everything:
        await store.set_status(parent.job_id, "CANCELED")
    message = f"{cancelled} of {len(results)} tasks cancelled before they ran (nothing charged for them)."
    if not everything:
        message += " The others had started or ended; resume the job for their results."
    return JobResult(
        job_id=parent.job_id,
        task_ids=[result.task_id for result in results if result.task_id],
        capability=parent.capability,
        model=parent.model,
        status="CANCELED" if everything else "RUNNING",
        done=everything,
        message=message,
        next_step=None if everything else "resume",
    )
