"""The life of a job, shared by every face: validate, record, submit, wait, save, report.

    build (validate) ─► store.create ─► client.submit ─► store.attach_task ─► client.wait ─► download ─► result
                           SUBMITTING        (POST, never re-sent)     PENDING            polls        SUCCEEDED

A tool, a CLI command and a batch entry all call `Runner.run`; `Runner.resume` picks a
job up again by job id or task id. Waits are bounded: a job that outlives them comes
back as a handle (done=False), never as a lost task.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from bailian_mcp.capabilities import ASYNC_CAPABILITIES
from bailian_mcp.capabilities.base import AsyncTaskCapability, BuildContext, Params
from bailian_mcp.catalog import ModelSpec, resolve
from bailian_mcp.config import Settings
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import NO_KEY_MESSAGE, DashScopeClient, TaskSnapshot
from bailian_mcp.errors import BailianError, ConfigurationError, InputError
from bailian_mcp.jobs import Job, JobStore
from bailian_mcp.media import DownloadError, download, image_info
from bailian_mcp.results import ErrorInfo, JobResult, OutputFile

ProgressCallback = Callable[[float, str], Awaitable[None]]


class SubmitUncertainError(BailianError):
    """The POST may have reached DashScope but no reply came back; the job is on record."""


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


def submit_bucket(model: ModelSpec) -> str:
    return f"submit:{model.name}"


class Runner:
    def __init__(self, *, settings: Settings, client: DashScopeClient, store: JobStore) -> None:
        self.settings = settings
        self.client = client
        self.store = store

    # ------------------------------------------------------------------ start a job

    async def run(
        self,
        capability: AsyncTaskCapability[Any],
        params: Params,
        *,
        wait_seconds: float,
        progress: ProgressCallback | None = None,
    ) -> JobResult:
        """Validate, record, submit and follow a new job for up to `wait_seconds`."""
        request = capability.build(params, BuildContext(region=self.settings.region))
        if not self.client.has_api_key:
            raise ConfigurationError(NO_KEY_MESSAGE)
        job = await self.store.create(
            capability=capability.name,
            model=request.model.name,
            base_url=self.client.base_url,
            params=params.model_dump(mode="json"),
            request=request.body,
        )
        report = Progress(progress)
        snapshot = await self._submit(job, request.path, request.body, request.headers, request.model)
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
            last=snapshot,
            cancel_on_abort=True,
        )

    async def _submit(self, job: Job, path: str, body: dict[str, Any], headers: Any, model: ModelSpec) -> TaskSnapshot:
        try:
            snapshot = await self.client.submit(path, body, headers=headers, bucket=submit_bucket(model))
        except errors.DashScopeConnectionError as exc:
            if not exc.request_sent:
                await self.store.set_status(job.job_id, "REJECTED", error=_error_dict(exc))
                raise
            await self.store.set_status(job.job_id, "SUBMIT_UNCERTAIN", error=_error_dict(exc))
            raise SubmitUncertainError(
                f"{exc} The request may have reached DashScope, so it was not re-sent (that could pay twice). "
                f"Job {job.job_id} is recorded as SUBMIT_UNCERTAIN; list_tasks shows tasks DashScope created."
            ) from exc
        except errors.DashScopeError as exc:
            await self.store.set_status(job.job_id, "REJECTED", error=_error_dict(exc))
            raise
        except BaseException:
            # Cancelled (or crashed) while the POST was in flight: it may have been received.
            with anyio.CancelScope(shield=True):
                await self.store.set_status(
                    job.job_id,
                    "SUBMIT_UNCERTAIN",
                    error={"code": "Interrupted", "message": "interrupted during submit"},
                )
            raise
        await self.store.attach_task(job.job_id, snapshot.task_id, snapshot.status)
        return snapshot

    # ------------------------------------------------------------------ pick a job up again

    async def resume(self, handle: str, *, wait_seconds: float, progress: ProgressCallback | None = None) -> JobResult:
        """Continue a job by job id or DashScope task id: wait more, or return (and repair) its result."""
        job = await self.store.find(handle.strip())
        if job is None:
            raise InputError(
                "task_id",
                handle,
                "no job or task with this id is in this server's job store; "
                "pass the job_id or task_id a generation call returned",
            )
        capability = ASYNC_CAPABILITIES[job.capability]
        model = resolve(job.capability, job.model)
        report = Progress(progress)
        if job.result is not None:
            return await self._repair(job, capability, report)
        if job.task_id is None:
            return _unsubmitted_result(job)
        return await self._follow(
            job.job_id,
            capability,
            model,
            job.task_id,
            wait_seconds=wait_seconds,
            report=report,
            warnings=[],
            poll_first=True,
            cancel_on_abort=False,
        )

    async def _repair(self, job: Job, capability: AsyncTaskCapability[Any], report: Progress) -> JobResult:
        """A finished job's stored result, with any missing local file downloaded again."""
        assert job.result is not None
        result = JobResult.model_validate(job.result)
        missing = [o for o in result.outputs if o.url and (o.path is None or not Path(o.path).exists())]
        if not missing:
            return result
        warnings = [w for w in result.warnings if not w.startswith("Could not save")]
        outputs = await self._save_outputs(job.job_id, capability, result.outputs, report, warnings)
        result = result.model_copy(update={"outputs": outputs, "warnings": warnings})
        await self.store.save_result(job.job_id, result.status, result.model_dump(mode="json"))
        return result

    # ------------------------------------------------------------------ follow a submitted task

    async def _follow(
        self,
        job_id: str,
        capability: AsyncTaskCapability[Any],
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
            snapshot = await self.client.wait(task_id, timeout=wait_seconds, on_poll=on_poll, poll_first=poll_first)
        except errors.DashScopeError as exc:
            status = seen["last"].status if seen["last"] else "PENDING"
            return JobResult(
                job_id=job_id,
                task_id=task_id,
                capability=capability.name,
                model=model.name,
                status=_job_status(status),
                done=False,
                warnings=warnings,
                message=f"Could not read the task's status ({exc}). The task is safe on DashScope and recorded "
                f"here: call get_task with {job_id!r} to continue.",
            )
        except BaseException:
            if cancel_on_abort:
                with anyio.CancelScope(shield=True):
                    await self._cancel_if_pending(job_id, task_id, seen["last"])
            raise
        return await self._finish(job_id, capability, model, snapshot, report, warnings)

    async def _cancel_if_pending(self, job_id: str, task_id: str, last: TaskSnapshot | None) -> None:
        """The caller gave up: cancel the remote task while that still saves money (PENDING only)."""
        if last is not None and last.status != "PENDING":
            return
        try:
            await self.client.cancel(task_id)
        except errors.DashScopeError:
            return  # already running or finished: it will be there for get_task
        await self.store.set_status(job_id, "CANCELED")

    async def _finish(
        self,
        job_id: str,
        capability: AsyncTaskCapability[Any],
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
            "status": _job_status(snapshot.status),
            "warnings": warnings,
            "submitted_at": snapshot.output.get("submit_time"),
            "finished_at": snapshot.output.get("end_time"),
        }
        if not snapshot.terminal:
            return JobResult(
                **common,
                done=False,
                message=f"Task {snapshot.task_id} is {snapshot.status}; it keeps running on DashScope. Call "
                f"get_task with task_id={job_id!r} to wait for it (do not generate again).",
            )
        if snapshot.status == "SUCCEEDED":
            outputs = await self._save_outputs(job_id, capability, capability.parse(snapshot), report, warnings)
            result = JobResult(
                **common,
                done=True,
                outputs=outputs,
                usage=_numbers(snapshot.usage),
                cost=capability.cost(model, snapshot),
                message=_success_message(outputs),
            )
        else:
            result = JobResult(**common, done=True, error=_task_error(snapshot), message=_ended_message(snapshot))
        await self.store.save_result(job_id, result.status, result.model_dump(mode="json"))
        return result

    async def _save_outputs(
        self,
        job_id: str,
        capability: AsyncTaskCapability[Any],
        outputs: list[OutputFile],
        report: Progress,
        warnings: list[str],
    ) -> list[OutputFile]:
        folder = self.settings.output_dir / datetime.now(UTC).strftime("%Y-%m-%d")
        saved = []
        for output in outputs:
            if output.url is None or (output.path is not None and Path(output.path).exists()):
                saved.append(output)
                continue
            await report(f"Saving {output.kind} {output.index + 1} of {len(outputs)}.")
            dest = folder / f"{job_id}-{output.index}{capability.file_suffix}"
            try:
                file = await download(self.client.http, output.url, dest, max_bytes=self.settings.download_max_bytes)
            except DownloadError as exc:
                warnings.append(f"Could not save {output.kind} {output.index}: {exc} Its URL is in the result.")
                saved.append(output)
                continue
            info = await image_info(file.path) if output.kind == "image" else None
            saved.append(
                output.model_copy(
                    update={
                        "path": str(file.path),
                        "bytes": file.size,
                        "sha256": file.sha256,
                        "mime_type": file.mime_type,
                        "width": info.width if info else None,
                        "height": info.height if info else None,
                    }
                )
            )
        return saved


def _job_status(status: str) -> Any:
    known = {"PENDING", "RUNNING", "SUSPENDED", "SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}
    return status if status in known else "UNKNOWN"


def _numbers(usage: Any) -> dict[str, float]:
    return {k: float(v) for k, v in dict(usage).items() if isinstance(v, int | float) and not isinstance(v, bool)}


def _error_dict(exc: errors.DashScopeError) -> dict[str, Any]:
    return {"code": exc.code or type(exc).__name__, "message": str(exc)}


def _task_error(snapshot: TaskSnapshot) -> ErrorInfo:
    if snapshot.status == "FAILED":
        return ErrorInfo(
            code=str(snapshot.output.get("code") or "Unknown"),
            message=str(snapshot.output.get("message") or ""),
        )
    if snapshot.status == "CANCELED":
        return ErrorInfo(code="Canceled", message="The task was cancelled before it ran.")
    return ErrorInfo(
        code="TaskUnknown", message="DashScope does not know this task: it expired (24 h) or never existed."
    )


def _ended_message(snapshot: TaskSnapshot) -> str:
    if snapshot.status == "FAILED":
        failure = errors.task_failed(
            snapshot.task_id, snapshot.output.get("code"), snapshot.output.get("message"), snapshot.request_id
        )
        return str(failure)
    if snapshot.status == "CANCELED":
        return f"Task {snapshot.task_id} was cancelled; nothing was generated or charged."
    return (
        f"Task {snapshot.task_id} is UNKNOWN to DashScope: tasks and their results expire after 24 hours. "
        "Generate again if you still need it."
    )


def _success_message(outputs: list[OutputFile]) -> str:
    made = [o for o in outputs if o.error is None]
    failed = [o for o in outputs if o.error is not None]
    saved = [o for o in made if o.path]
    text = f"Generated {len(made)} {made[0].kind if made else 'file'}(s)"
    text += f", saved {len(saved)} locally." if saved else "."
    if failed:
        text += (
            f" {len(failed)} of {len(outputs)} failed ({failed[0].error.code if failed[0].error else ''}); "
            "only the successful ones are charged."
        )
    return text


def _unsubmitted_result(job: Job) -> JobResult:
    status = _job_status(job.status) if job.status not in ("REJECTED", "SUBMIT_UNCERTAIN", "SUBMITTING") else job.status
    error = ErrorInfo(**job.error) if job.error else None
    if job.status == "REJECTED":
        message = "DashScope refused this job when it was submitted; nothing was created or charged."
    else:
        message = (
            "This job's submission got no reply, so it may or may not exist on DashScope; it was not re-sent. "
            "list_tasks shows the tasks DashScope created."
        )
    return JobResult(
        job_id=job.job_id,
        task_id=None,
        capability=job.capability,
        model=job.model,
        status=status,
        done=True,
        message=message,
        error=error,
    )
