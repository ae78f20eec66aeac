"""The life of a job, shared by every face: validate, record, send, wait (bounded), save, report.

    build (validate) ─► upload local inputs ─► store.create ─► send ─► wait (bounded) ─► save files ─► result
                                                SUBMITTING (task)
                                                RUNNING (direct exchange)

Two kinds of capability share it:
  * async tasks: the POST creates a DashScope task (never re-sent); waits poll it; a job that
    outlives the wait comes back as a handle (next_step "resume") that `resume` picks up by job id
    or task id;
  * direct exchanges (a JSON call, an SSE stream, a WebSocket session): the exchange runs in the
    background (`exchanges`), so a slow one also comes back as a handle after the wait, and its
    result is stored when it arrives, for `resume` to return.

The runner speaks no face's language: its results and errors carry `next_step` as data.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import anyio
import anyio.to_thread
from anyio.abc import TaskGroup

from bailian_mcp import catalog
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import BuildContext, Capability, Request, parse_params
from bailian_mcp.catalog import ModelSpec
from bailian_mcp.config import Settings
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import NO_KEY_MESSAGE, DashScopeClient, TaskSnapshot
from bailian_mcp.dashscope.watcher import TaskWatcher
from bailian_mcp.errors import BailianError, ConfigurationError
from bailian_mcp.jobs import admin, messages
from bailian_mcp.jobs.exchanges import Exchanges
from bailian_mcp.jobs.outputs import OutputFolder
from bailian_mcp.jobs.parts import NOT_SENT, combine
from bailian_mcp.jobs.polls import StorePolls
from bailian_mcp.jobs.quotes import ConfirmationNeeded, in_cny, quote, todays_budget, unquoted
from bailian_mcp.jobs.results import Cost, ErrorInfo, JobResult, numbers
from bailian_mcp.jobs.status import IN_FLIGHT, NOTHING_MADE, job_status
from bailian_mcp.jobs.store import LOST, Job, JobStore
from bailian_mcp.jobs.submission import (
    AlreadySentError,
    SubmitUncertainError,
    for_the_record,
    record_send_failure,
    submit_task,
    upload_inputs,
)

ProgressCallback = Callable[[float, str], Awaitable[None]]
STORE_WATCH_SECONDS = 0.25
"""How often a job another process works on is read again from the store."""
STOPPED_BEFORE_SENDING = {"code": "NotSent", "message": "the process that recorded this job stopped before sending it"}


class Progress:
    """Reports strictly increasing progress (seconds since the call began) with a message."""

    def __init__(self, callback: ProgressCallback | None) -> None:
        self._callback = callback
        self._start = time.monotonic()
        self._last = -1.0

    async def __call__(self, message: str) -> None:
        if self._callback is None:
            return
        value = max(round(time.monotonic() - self._start, 3), self._last + 0.001)
        self._last = value
        await self._callback(value, message)


class Runner:
    def __init__(self, *, settings: Settings, client: DashScopeClient, store: JobStore, background: TaskGroup) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        # one poller for the tasks this process follows; and, leading, for those of every process of the account
        self.watcher = TaskWatcher(client, shared=StorePolls(store, settings.account()))
        background.start_soon(self.watcher.run)
        self.outputs = OutputFolder(
            settings.output_dir, result_mode=settings.result_mode, max_bytes=settings.download_max_bytes
        )
        self.exchanges = Exchanges(client=client, store=store, outputs=self.outputs, background=background)

    # ------------------------------------------------------------------ start a job

    async def run(
        self,
        capability: Capability,
        params: Any,
        *,
        wait_seconds: float,
        progress: ProgressCallback | None = None,
        fingerprint: str | None = None,
        on_text: Callable[[str], Awaitable[None]] | None = None,
        dry_run: bool = False,
        confirmed: bool = False,
    ) -> JobResult:
        """Validate, price, record, send and follow a new job for up to `wait_seconds`.

        `fingerprint` marks the job for callers that must find it again (the batch runner's resumption);
        `on_text` receives generated text piece by piece while the caller waits. `dry_run`: validate and price
        only, and say what would be sent. A job quoted above BAILIAN_CONFIRM_ABOVE_CNY is sent only `confirmed`
        (else ConfirmationNeeded); one that would cross the day's BAILIAN_BUDGET_CNY is refused (OverBudgetError).
        """
        request = await self._build(capability, params)
        cost = quote(request)
        if dry_run:
            return _dry_run(capability, request, cost)
        self.check_ready()
        threshold = self.settings.confirm_above_cny
        if threshold is not None and not confirmed and cost is not None and (in_cny(cost) or 0.0) > threshold:
            raise ConfirmationNeeded(cost, threshold)
        report = Progress(progress)
        parts = [await upload_inputs(self.client, self.store, part, report) for part in request.parts]
        if not parts:
            request = await upload_inputs(self.client, self.store, request, report)
        job = await self.store.create(
            capability=capability.name,
            model=request.model.name,
            base_url=self.client.base_url,
            params=for_the_record(params.model_dump(mode="json")),
            request={"parts": [for_the_record(part.body) for part in parts]} if parts else for_the_record(request.body),
            fingerprint=fingerprint,
            status="SUBMITTING" if request.exchange is None and not parts else "RUNNING",
            quoted_cny=in_cny(cost),
            budget=todays_budget(self.settings.budget_cny),
        )
        try:
            if parts:
                return await self._follow_parts(
                    job,
                    capability,
                    parts,
                    wait_seconds=wait_seconds,
                    report=report,
                    warnings=list(request.warnings),
                    cancel_on_abort=True,
                )
            if request.exchange is not None:
                return await self.exchanges.start(job, capability, request, wait_seconds, report, on_text)
            snapshot = await submit_task(self.client, self.store, job, request)
            await report(f"Submitted task {snapshot.task_id} ({snapshot.status}).")
            return await self._follow(
                job.job_id,
                capability,
                request.model,
                snapshot.task_id,
                wait_seconds=wait_seconds,
                report=report,
                warnings=list(request.warnings),
                poll_first=False,
                cancel_on_abort=True,
                last=snapshot,
            )
        finally:
            await self.store.release(job.job_id)

    async def _build(self, capability: Capability, params: Any) -> Request:
        """The capability's request, built on a worker thread: building reads and hashes local input files (up to
        GBs of audio), which must not hold up the event loop (pings, other calls, progress)."""
        context = BuildContext(self.settings.region, self.settings.allowed_input_roots)
        request: Request = await anyio.to_thread.run_sync(capability.build, params, context)
        return request

    def check_ready(self) -> None:
        """Refuse, before anything is sent, a job that cannot be paid for (no key) or saved (no output folder)."""
        if not self.client.has_api_key:
            raise ConfigurationError(NO_KEY_MESSAGE)
        self.outputs.check()

    # ------------------------------------------------------------------ pick a job up again

    async def resume(self, handle: str, *, wait_seconds: float, progress: ProgressCallback | None = None) -> JobResult:
        """Continue a job by job id or DashScope task id: wait more, or return (and repair) its result."""
        job = await admin.find_job(self.store, self.client, handle)
        capability = CAPABILITIES[job.capability]
        return await self._continue(job, capability, wait_seconds=wait_seconds, report=Progress(progress))

    async def _continue(
        self, job: Job, capability: Capability, *, wait_seconds: float, report: Progress, cancel_on_abort: bool = False
    ) -> JobResult:
        """A recorded job taken up where it is: its stored result, or more waiting for it. While another process
        works on it (or a call of this one sends it), what it records is waited for instead; a job nobody works on
        is taken over."""
        deadline = time.monotonic() + wait_seconds
        while True:
            job = await self._watch(job, deadline, report)
            if job.result is not None:
                return await self._repair(job, capability, report)
            if self._busy(job):
                return standing(job, messages.worked_on_elsewhere(job.job_id, self._worker_of(job)))
            async with self.store.holding(job.job_id) as held:
                if held:
                    return await self._take_up(
                        job,
                        capability,
                        wait_seconds=max(0.0, deadline - time.monotonic()),
                        report=report,
                        cancel_on_abort=cancel_on_abort,
                    )
            job = await self.store.get(job.job_id) or job  # another process took it meanwhile

    def _busy(self, job: Job) -> bool:
        """Whether someone else is working on the job: another process holding it, or a call of this process
        sending it (its task not yet recorded; an exchange of this process is waited for as itself)."""
        if self.store.held_elsewhere(job):
            return True
        sending = job.task_id is None and job.status == "SUBMITTING" and not job.part_count
        return sending and self.store.holds(job.job_id)

    def _worker_of(self, job: Job) -> str:
        if job.owner == self.store.owner:
            return "another call of this server"
        return f"another bailian-mcp process ({job.owner}) sharing this job store"

    async def _watch(self, job: Job, deadline: float, report: Progress) -> Job:
        """The job as recorded once nobody else is working on it, it has a result, or the deadline comes."""
        said = False
        while job.result is None and self._busy(job) and time.monotonic() < deadline:
            if not said:
                await report(f"Job {job.job_id} is being worked on by {self._worker_of(job)}; waiting for it.")
                said = True
            await anyio.sleep(min(STORE_WATCH_SECONDS, max(0.0, deadline - time.monotonic())))
            job = await self.store.get(job.job_id) or job
        return job

    async def _take_up(
        self, job: Job, capability: Capability, *, wait_seconds: float, report: Progress, cancel_on_abort: bool
    ) -> JobResult:
        """Go on with a job this process now holds: follow its task(s), wait for its exchange, or say its fate."""
        if job.part_count:
            return await self._follow_parts(
                job, capability, None, wait_seconds=wait_seconds, report=report, warnings=[], cancel_on_abort=False
            )
        exchange = self.exchanges.running(job.job_id)
        if exchange is not None:
            return await self.exchanges.wait(job, exchange, wait_seconds, report)
        if _never_sent(job) and await self.store.claim_sending(job.job_id):
            # recorded, then its process stopped before sending it: claimed here, so it never will be
            await self.store.set_status(job.job_id, "CANCELED", error=STOPPED_BEFORE_SENDING)
            job = await self.store.get(job.job_id) or job
        if job.task_id is None and creates_task(job) and job.submitted_at is not None:
            if job.status == "SUBMITTING":  # its sender stopped (this process holds it now) with the reply on its way
                await self.store.set_status(job.job_id, "SUBMIT_UNCERTAIN", error=LOST)
                job = await self.store.get(job.job_id) or job
            if job.status == "SUBMIT_UNCERTAIN":
                job = await self._look_for_lost_task(job)
        if job.task_id is None:
            return await self._unfinished_result(job)
        return await self._follow(
            job.job_id,
            capability,
            catalog.named(job.model),
            job.task_id,
            wait_seconds=wait_seconds,
            report=report,
            warnings=[],
            poll_first=True,
            cancel_on_abort=cancel_on_abort,
        )

    # ------------------------------------------------------------------ a job made of several tasks

    async def _follow_parts(
        self,
        parent: Job,
        capability: Capability,
        parts: Sequence[Request] | None,
        *,
        wait_seconds: float,
        report: Progress,
        warnings: list[str],
        cancel_on_abort: bool,
    ) -> JobResult:
        """Send each part not sent yet (recording it first), then follow them all for up to `wait_seconds`, and
        combine their results (saved as the job's once every part is done). `parts`: the uploaded requests, when
        at hand; rebuilt from the job's parameters when a part has still to be sent after a restart."""
        deadline = time.monotonic() + wait_seconds
        recorded = {job.part: job for job in await self.store.parts(parent.job_id)}
        children: list[Job] = []
        refusal: errors.DashScopeError | None = None
        for index in range(parent.part_count):
            child = recorded.get(index)
            if child is None or _never_sent(child):
                if parts is None:
                    parts = await self._rebuild_parts(parent, capability, report)
                child, refused = await self._send_part(
                    parent, index, parts[index], child, report=report, skip=refusal is not None
                )
                refusal = refusal or refused
            children.append(child)
        if refusal is not None and not any(child.task_id for child in children):
            raise await record_send_failure(self.store, parent, refusal, creates_task=True)
        results: dict[int, JobResult] = {}

        async def follow(index: int, child: Job) -> None:
            results[index] = await self._continue(
                child,
                capability,
                wait_seconds=max(0.0, deadline - time.monotonic()),
                report=report,
                cancel_on_abort=cancel_on_abort,
            )

        async with anyio.create_task_group() as group:
            for index, child in enumerate(children):
                group.start_soon(follow, index, child)
        result = combine(parent, [(child, results[index]) for index, child in enumerate(children)], warnings)
        if result.done:
            await self.store.save_result(parent.job_id, result.status, result.model_dump(mode="json"))
        return result

    async def _send_part(
        self, parent: Job, index: int, part: Request, child: Job | None, *, report: Progress, skip: bool
    ) -> tuple[Job, errors.DashScopeError | None]:
        """Record a part (unless it is) and send it, or with `skip` record it as not sent: the part as recorded now,
        and DashScope's refusal of it, if it refused."""
        created = child is None
        if child is None:
            child = await self.store.create(
                capability=parent.capability,
                model=part.model.name,
                base_url=self.client.base_url,
                params={"source": part.source},
                request=for_the_record(part.body),
                parent_id=parent.job_id,
                part=index,
            )
        refusal = None
        try:
            if skip:
                await self.store.set_status(child.job_id, "CANCELED", error=NOT_SENT)
            else:
                snapshot = await submit_task(self.client, self.store, child, part)
                await report(f"Submitted task {snapshot.task_id} for {part.source or f'part {index}'}.")
        except errors.DashScopeError as exc:
            refusal = exc
        except (SubmitUncertainError, AlreadySentError):
            pass  # recorded: followed like the others
        finally:
            if created:
                await self.store.release(child.job_id)
        return await self.store.get(child.job_id) or child, refusal

    async def _rebuild_parts(self, parent: Job, capability: Capability, report: Progress) -> list[Request]:
        """The parts of a recorded job made again from its parameters (their local files' uploads are cached)."""
        self.check_ready()
        request = await self._build(capability, parse_params(capability.params_model, parent.params))
        if len(request.parts) != parent.part_count:
            raise BailianError(
                f"Job {parent.job_id}'s parameters now make {len(request.parts)} parts, not {parent.part_count}; "
                "its parts not yet sent cannot be sent."
            )
        return [await upload_inputs(self.client, self.store, part, report) for part in request.parts]

    async def _repair(self, job: Job, capability: Capability, report: Progress) -> JobResult:
        """A finished job's stored result, with any missing local file downloaded again."""
        assert job.result is not None
        result = JobResult.model_validate(job.result)
        if not any(self.outputs.wants_download(o) for o in result.outputs):
            return result
        warnings = [w for w in result.warnings if not w.startswith("Could not save")]
        outputs = await self.outputs.save(
            self.client, job.job_id, capability.file_suffix, result.outputs, report, warnings
        )
        update: dict[str, Any] = {"outputs": outputs, "warnings": warnings}
        if capability.finish is not None:
            update["outputs"] = capability.finish(outputs)
            update["text"] = messages.joined_text(update["outputs"])
        result = result.model_copy(update=update)
        await self.store.save_result(job.job_id, result.status, result.model_dump(mode="json"))
        return result

    async def _look_for_lost_task(self, job: Job) -> Job:
        """A job whose submission got no reply, after a look in DashScope's task list for the task it may have
        created (see `admin.sync_remote`: found only when nothing else can have created it)."""
        if not self.client.has_api_key or job.submitted_at is None:
            return job
        try:
            since = admin.remote_since(job.submitted_at - admin.CLOCK_SKEW)
            await admin.sync_remote(self.store, self.client, since=since)
        except errors.DashScopeError:
            return job
        return await self.store.get(job.job_id) or job

    async def _unfinished_result(self, job: Job) -> JobResult:
        """A job with nothing to follow: refused, lost in sending, or interrupted by a restart."""
        status = job.status
        if status in IN_FLIGHT:
            status = "SUBMIT_UNCERTAIN"
            await self.store.set_status(
                job.job_id,
                status,
                error={"code": "Interrupted", "message": "the server stopped while this request was in flight"},
            )
            job = await self.store.get(job.job_id) or job
        message = {"REJECTED": messages.REJECTED, "CANCELED": messages.NOT_SENT}.get(status, messages.NO_ANSWER)
        return JobResult(
            job_id=job.job_id,
            task_id=job.task_id,
            capability=job.capability,
            model=job.model,
            status=job_status(status),
            done=True,
            message=message,
            next_step=None if status in NOTHING_MADE or not creates_task(job) else "list_tasks",
            error=ErrorInfo(**job.error) if job.error else None,
        )

    # ------------------------------------------------------------------ follow a submitted task

    async def _follow(
        self,
        job_id: str,
        capability: Capability,
        model: ModelSpec,
        task_id: str,
        *,
        wait_seconds: float,
        report: Progress,
        warnings: list[str],
        poll_first: bool,
        cancel_on_abort: bool,
        last: TaskSnapshot | None = None,
    ) -> JobResult:
        """Wait for the task, record what is seen, and turn the outcome into a result.

        If the wait is abandoned (the caller cancelled) and `cancel_on_abort` is set, a task
        still PENDING is cancelled on DashScope, since nobody will collect it.
        """
        seen: dict[str, TaskSnapshot | None] = {"last": last}

        async def on_poll(snapshot: TaskSnapshot) -> None:
            previous = seen["last"]
            seen["last"] = snapshot
            if previous is None or previous.status != snapshot.status:
                await self.store.set_status(job_id, snapshot.status)
            await report(f"Task {task_id}: {snapshot.status}.")

        try:
            snapshot = await self.watcher.wait(
                task_id, timeout=wait_seconds, on_poll=on_poll, poll_first=poll_first, model=model.name
            )
        except errors.DashScopeError as exc:
            return JobResult(
                job_id=job_id,
                task_id=task_id,
                capability=capability.name,
                model=model.name,
                status=job_status(seen["last"].status if seen["last"] else "PENDING"),
                done=False,
                warnings=warnings,
                message=messages.status_unreadable(exc, job_id),
                next_step="resume",
            )
        except BaseException:
            if cancel_on_abort:
                with anyio.CancelScope(shield=True):
                    await self._cancel_if_pending(job_id, task_id, seen["last"])
            raise
        return await self._finish_task(job_id, capability, model, snapshot, report, warnings)

    async def _cancel_if_pending(self, job_id: str, task_id: str, last: TaskSnapshot | None) -> None:
        """The caller gave up: cancel the remote task while that still saves money (PENDING only)."""
        if last is not None and last.status != "PENDING":
            return
        try:
            await self.client.cancel(task_id)
        except errors.DashScopeError:
            return  # already running or finished: it will be there to resume
        await self.store.set_status(job_id, "CANCELED")

    async def _finish_task(
        self,
        job_id: str,
        capability: Capability,
        model: ModelSpec,
        snapshot: TaskSnapshot,
        report: Progress,
        warnings: list[str],
    ) -> JobResult:
        common: dict[str, Any] = {
            "job_id": job_id,
            "task_id": snapshot.task_id,
            "capability": capability.name,
            "model": model.name,
            "status": job_status(snapshot.status),
            "warnings": warnings,
            "submitted_at": snapshot.output.get("submit_time"),
            "finished_at": snapshot.output.get("end_time"),
        }
        if not snapshot.terminal:
            return JobResult(
                **common,
                done=False,
                message=messages.still_running(snapshot.task_id, snapshot.status, job_id),
                next_step="resume",
            )
        if snapshot.status == "SUCCEEDED":
            outputs = await self.outputs.save(
                self.client, job_id, capability.file_suffix, capability.read_task(snapshot), report, warnings
            )
            if capability.finish is not None:
                outputs = capability.finish(outputs)
            result = JobResult(
                **common,
                done=True,
                outputs=outputs,
                usage=numbers(snapshot.usage),
                cost=model.price.cost(snapshot.usage),
                message=messages.succeeded(outputs),
                text=messages.joined_text(outputs),
            )
        else:
            result = JobResult(
                **common, done=True, error=messages.task_error(snapshot), message=messages.ended(snapshot)
            )
        await self.store.save_result(job_id, result.status, result.model_dump(mode="json"))
        return result


def _dry_run(capability: Capability, request: Request, cost: Cost | None) -> JobResult:
    """What a job would send and cost, for a dry run (nothing is recorded: no job id)."""

    def sent(piece: Request) -> dict[str, Any]:
        return {"path": piece.path, "body": for_the_record(piece.body)}

    return JobResult(
        job_id="",
        capability=capability.name,
        model=request.model.name,
        status="DRY_RUN",
        done=True,
        message=messages.dry_run(cost, unquoted(request)),
        cost=cost,
        request={"parts": [sent(part) for part in request.parts]} if request.parts else sent(request),
        warnings=list(request.warnings),
    )


def standing(job: Job, message: str) -> JobResult:
    """A job's result as it stands while nothing is being done for it here (no result of its own yet)."""
    return JobResult(
        job_id=job.job_id,
        task_id=job.task_id,
        capability=job.capability,
        model=job.model,
        status=job_status(job.status),
        done=job.final,
        message=message,
        next_step=None if job.final else "resume",
    )


def _never_sent(job: Job) -> bool:
    """Whether a recorded job's request was never sent (recorded, then the process stopped before sending)."""
    return job.task_id is None and job.submitted_at is None and job.status == "SUBMITTING"


def creates_task(job: Job) -> bool:
    """Whether the job's request creates a DashScope task (which the task list shows), by its model's endpoint."""
    return catalog.named(job.model).endpoint.asynchronous
