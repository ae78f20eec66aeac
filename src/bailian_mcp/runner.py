"""The life of a job, shared by every face: validate, record, submit, wait, save, report.

    build (validate) ─► upload local inputs ─► store.create ─► send ─► wait (bounded) ─► save files ─► result
                                                SUBMITTING (task)
                                                RUNNING (direct exchange)

Two kinds of capability share it:
  * async tasks: the POST creates a DashScope task (never re-sent); waits poll it; a job that
    outlives the wait comes back as a handle that `resume` picks up by job id or task id;
  * direct exchanges (a JSON call, an SSE stream, a WebSocket session): the exchange runs in the
    background, owned by the runner, so a slow one also comes back as a handle after the wait,
    and its result is stored when it arrives, for `resume` to return.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, get_args

import anyio
from anyio.abc import TaskGroup

from bailian_mcp import job_admin
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import (
    AsyncTaskCapability,
    BuildContext,
    Capability,
    DirectCapability,
    ExchangeContext,
    Outcome,
    Request,
)
from bailian_mcp.catalog import ModelSpec, resolve
from bailian_mcp.config import Settings
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import NO_KEY_MESSAGE, DashScopeClient, TaskSnapshot
from bailian_mcp.dashscope.uploads import OSS_RESOLVE_HEADER, upload_file
from bailian_mcp.errors import BailianError, ConfigurationError, InputError
from bailian_mcp.inputs import LocalFile
from bailian_mcp.jobs import Job, JobStore
from bailian_mcp.media import DownloadError, download, image_info, media_duration, suffix_for
from bailian_mcp.results import ErrorInfo, JobResult, JobStatus, OutputFile

ProgressCallback = Callable[[float, str], Awaitable[None]]


class SubmitUncertainError(BailianError):
    """The request may have reached DashScope but no reply came back; the job is on record."""


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


@dataclass
class _Exchange:
    """A direct exchange running in the background, and whoever is waiting for it."""

    done: anyio.Event = field(default_factory=anyio.Event)
    result: JobResult | None = None
    error: BaseException | None = None
    listener: Progress | None = None
    text_listener: Callable[[str], Awaitable[None]] | None = None

    async def report(self, message: str) -> None:
        if self.listener is not None:
            await self.listener(message)

    async def report_text(self, piece: str) -> None:
        if self.text_listener is not None:
            await self.text_listener(piece)


class Runner:
    def __init__(self, *, settings: Settings, client: DashScopeClient, store: JobStore, background: TaskGroup) -> None:
        self.settings = settings
        self.client = client
        self.store = store
        self._background = background
        self._exchanges: dict[str, _Exchange] = {}

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
    ) -> JobResult:
        """Validate, record, send and follow a new job for up to `wait_seconds`.

        `fingerprint` marks the job for callers that must find it again (the batch runner's resumption);
        `on_text` receives generated text piece by piece while the caller waits.
        """
        request = capability.build(params, BuildContext(self.settings.region, self.settings.allowed_input_roots))
        if not self.client.has_api_key:
            raise ConfigurationError(NO_KEY_MESSAGE)
        self.check_output_dir()
        report = Progress(progress)
        request = await self._upload_inputs(request, report)
        job = await self.store.create(
            capability=capability.name,
            model=request.model.name,
            base_url=self.client.base_url,
            params=_for_the_record(params.model_dump(mode="json")),
            request=_for_the_record(request.body),
            fingerprint=fingerprint,
            status="RUNNING" if isinstance(capability, DirectCapability) else "SUBMITTING",
        )
        if isinstance(capability, DirectCapability):
            return await self._start_exchange(job, capability, request, wait_seconds, report, on_text)
        snapshot = await self._submit(job, request)
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

    async def _upload_inputs(self, request: Request, report: Progress) -> Request:
        """Upload every local file in the body to temporary storage and refer to it as `oss://`."""
        resolve_oss = False
        wire_model = str(request.body.get("model", request.model.name))

        async def convert(value: Any) -> Any:
            nonlocal resolve_oss
            if isinstance(value, LocalFile):
                await report(f"Uploading {value.path.name} ({value.size} bytes).")
                value = await upload_file(
                    self.client,
                    value.path,
                    model=wire_model,
                    sha256=value.sha256,
                    mime=value.mime_type,
                    cache=self.store,
                )
            if isinstance(value, str) and value.startswith("oss://"):
                resolve_oss = True
            if isinstance(value, dict):
                return {k: await convert(v) for k, v in value.items()}
            if isinstance(value, list):
                return [await convert(v) for v in value]
            return value

        body = await convert(request.body)
        headers = {**request.headers, **(OSS_RESOLVE_HEADER if resolve_oss else {})}
        return Request(model=request.model, path=request.path, body=body, headers=headers, warnings=request.warnings)

    async def _submit(self, job: Job, request: Request) -> TaskSnapshot:
        """POST the task and record its id. Once the POST is on its way, a cancellation waits for the reply,
        so the task id is always recorded (and the task can then be cancelled or collected)."""
        try:
            await self.client.limiter.acquire(request.model.rate_bucket)
            with anyio.CancelScope(shield=True):
                await self.store.mark_sending(job.job_id)
                snapshot = await self.client.submit(request.path, request.body, headers=request.headers)
                await self.store.attach_task(job.job_id, snapshot.task_id, snapshot.status)
        except BaseException as exc:
            replacement = await self._record_send_failure(job, exc)
            if replacement is exc:
                raise
            raise replacement from exc
        return snapshot

    async def _record_send_failure(self, job: Job, exc: BaseException) -> BaseException:
        """Record why a request failed and return what to raise: never lose track of a maybe-created job."""
        raised: BaseException
        if isinstance(exc, errors.DashScopeConnectionError) and exc.request_sent:
            status, error, raised = (
                "SUBMIT_UNCERTAIN",
                _error_dict(exc),
                SubmitUncertainError(
                    f"{exc} The request may have reached DashScope, so it was not re-sent (that could pay twice). "
                    f"Job {job.job_id} is recorded as SUBMIT_UNCERTAIN; {_where_to_look(job)}."
                ),
            )
        elif isinstance(exc, errors.DashScopeError):
            status, error, raised = "REJECTED", _error_dict(exc), exc
        else:  # cancelled (or crashed) while the request was in flight: it may have been received
            status, error, raised = (
                "SUBMIT_UNCERTAIN",
                {"code": "Interrupted", "message": "interrupted while sending"},
                exc,
            )
        with anyio.CancelScope(shield=True):
            await self.store.set_status(job.job_id, status, error=error)
        return raised

    # ------------------------------------------------------------------ direct exchanges

    async def _start_exchange(
        self,
        job: Job,
        capability: DirectCapability[Any],
        request: Request,
        wait_seconds: float,
        report: Progress,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> JobResult:
        exchange = _Exchange(text_listener=on_text)
        self._exchanges[job.job_id] = exchange
        self._background.start_soon(self._exchange, job, capability, request, exchange)
        return await self._await_exchange(job, exchange, wait_seconds, report)

    async def _exchange(
        self, job: Job, capability: DirectCapability[Any], request: Request, exchange: _Exchange
    ) -> None:
        try:
            context = ExchangeContext(
                client=self.client,
                progress=exchange.report,
                text=exchange.report_text,
                output_path=lambda index, suffix: self._output_path(job.job_id, index, suffix),
            )
            try:
                outcome = await capability.execute(context, request)
            except BaseException as exc:
                exchange.error = await self._record_send_failure(job, exc)
                if not isinstance(exc, Exception):
                    raise
                return
            exchange.result = await self._finish_exchange(job, capability, request, outcome, exchange)
        except Exception as exc:  # a bug or a local failure (disk full): keep the job on record, tell the waiter
            exchange.error = exc
            with anyio.CancelScope(shield=True):
                await self.store.set_status(
                    job.job_id, "FAILED", error={"code": type(exc).__name__, "message": str(exc)}
                )
        finally:
            exchange.done.set()
            self._exchanges.pop(job.job_id, None)

    async def _finish_exchange(
        self, job: Job, capability: DirectCapability[Any], request: Request, outcome: Outcome, exchange: _Exchange
    ) -> JobResult:
        warnings = list(request.warnings)
        outputs = await self._save_outputs(
            job.job_id, capability.file_suffix, outcome.outputs, exchange.report, warnings
        )
        status = "FAILED" if outcome.error else "SUCCEEDED"
        result = JobResult(
            job_id=job.job_id,
            task_id=None,
            capability=capability.name,
            model=request.model.name,
            status=status,
            done=True,
            text=outcome.text,
            finish_reason=outcome.finish_reason,
            outputs=outputs,
            usage=_numbers(outcome.usage),
            cost=request.model.price.cost(outcome.usage),
            error=outcome.error,
            warnings=warnings,
            message=_exchange_message(capability.name, outputs, outcome),
        )
        await self.store.save_result(job.job_id, status, result.model_dump(mode="json"))
        return result

    async def _await_exchange(self, job: Job, exchange: _Exchange, wait_seconds: float, report: Progress) -> JobResult:
        exchange.listener = report
        try:
            with anyio.move_on_after(wait_seconds):
                await exchange.done.wait()
        finally:
            exchange.listener = None
            exchange.text_listener = None
        if exchange.error is not None:
            raise exchange.error
        if exchange.result is not None:
            return exchange.result
        return JobResult(
            job_id=job.job_id,
            task_id=None,
            capability=job.capability,
            model=job.model,
            status="RUNNING",
            done=False,
            message=f"Still working after {wait_seconds:g} s; the answer is stored when it arrives. Call get_task "
            f"with task_id={job.job_id!r} to wait for it (do not send the request again).",
        )

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
        capability = CAPABILITIES[job.capability]
        report = Progress(progress)
        if job.result is not None:
            return await self._repair(job, capability, report)
        exchange = self._exchanges.get(job.job_id)
        if exchange is not None:
            return await self._await_exchange(job, exchange, wait_seconds, report)
        if job.task_id is None and job.status == "SUBMIT_UNCERTAIN" and isinstance(capability, AsyncTaskCapability):
            job = await self._look_for_lost_task(job)
        if job.task_id is None or isinstance(capability, DirectCapability):
            return await self._unfinished_result(job)
        model = resolve(job.capability, job.model)
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

    async def _repair(self, job: Job, capability: Capability, report: Progress) -> JobResult:
        """A finished job's stored result, with any missing local file downloaded again."""
        assert job.result is not None
        result = JobResult.model_validate(job.result)
        missing = [o for o in result.outputs if o.url and o.path is not None and not Path(o.path).exists()]
        missing += [o for o in result.outputs if o.url and o.path is None and self.settings.result_mode != "url"]
        if not missing:
            return result
        warnings = [w for w in result.warnings if not w.startswith("Could not save")]
        outputs = await self._save_outputs(job.job_id, capability.file_suffix, result.outputs, report, warnings)
        update: dict[str, Any] = {"outputs": outputs, "warnings": warnings}
        if isinstance(capability, AsyncTaskCapability) and capability.finish is not None:
            update["outputs"] = capability.finish(outputs)
            update["text"] = _joined_text(update["outputs"])
        result = result.model_copy(update=update)
        await self.store.save_result(job.job_id, result.status, result.model_dump(mode="json"))
        return result

    async def _look_for_lost_task(self, job: Job) -> Job:
        """A job whose submission got no reply, after a look in DashScope's task list for the task it may have
        created (see `job_admin.sync_remote`: found only when nothing else can have created it)."""
        if not self.client.has_api_key or job.submitted_at is None:
            return job
        earliest = time.time() - job_admin.REMOTE_WINDOW_HOURS * 3600 + 60
        try:
            await job_admin.sync_remote(
                self.store, self.client, since=max(job.submitted_at - job_admin.CLOCK_SKEW, earliest)
            )
        except errors.DashScopeError:
            return job
        return await self.store.get(job.job_id) or job

    async def _unfinished_result(self, job: Job) -> JobResult:
        """A job with nothing to follow: refused, lost in sending, or interrupted by a restart."""
        status = job.status
        if status in ("SUBMITTING", "RUNNING", "PENDING"):
            status = "SUBMIT_UNCERTAIN"
            await self.store.set_status(
                job.job_id,
                status,
                error={"code": "Interrupted", "message": "the server stopped while this request was in flight"},
            )
            job = await self.store.get(job.job_id) or job
        error = ErrorInfo(**job.error) if job.error else None
        if status == "REJECTED":
            message = "DashScope refused this job when it was sent; nothing was created or charged."
        else:
            message = (
                "This job's request got no answer this server could record (a lost connection, or a restart "
                "while it was in flight), so DashScope may or may not have done it; it was not re-sent. "
                "list_tasks shows the tasks DashScope created."
            )
        return JobResult(
            job_id=job.job_id,
            task_id=job.task_id,
            capability=job.capability,
            model=job.model,
            status=status if status in _STATUSES else "UNKNOWN",
            done=True,
            message=message,
            error=error,
        )

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
            snapshot = await self.client.wait(
                task_id, timeout=wait_seconds, on_poll=on_poll, poll_first=poll_first, model=model.name
            )
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
        return await self._finish_task(job_id, capability, model, snapshot, report, warnings)

    async def _cancel_if_pending(self, job_id: str, task_id: str, last: TaskSnapshot | None) -> None:
        """The caller gave up: cancel the remote task while that still saves money (PENDING only)."""
        if last is not None and last.status != "PENDING":
            return
        try:
            await self.client.cancel(task_id)
        except errors.DashScopeError:
            return  # already running or finished: it will be there for get_task
        await self.store.set_status(job_id, "CANCELED")

    async def _finish_task(
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
            outputs = await self._save_outputs(
                job_id, capability.file_suffix, capability.parse(snapshot), report, warnings
            )
            if capability.finish is not None:
                outputs = capability.finish(outputs)
            result = JobResult(
                **common,
                done=True,
                outputs=outputs,
                usage=_numbers(snapshot.usage),
                cost=model.price.cost(snapshot.usage),
                message=_success_message(outputs),
                text=_joined_text(outputs),
            )
        else:
            result = JobResult(**common, done=True, error=_task_error(snapshot), message=_ended_message(snapshot))
        await self.store.save_result(job_id, result.status, result.model_dump(mode="json"))
        return result

    # ------------------------------------------------------------------ files

    def check_output_dir(self) -> None:
        """Refuse, before anything is sent, to run a job whose files would have nowhere to go."""
        folder = self.settings.output_dir
        try:
            folder.mkdir(parents=True, exist_ok=True)
            usable = folder.is_dir() and os.access(folder, os.W_OK | os.X_OK)
            reason = "it is not a folder this server can write to"
        except (OSError, ValueError) as exc:
            usable, reason = False, (exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc))
        if not usable:
            raise ConfigurationError(
                f"Invalid settings — output_dir: {folder} cannot be used ({reason}); give a folder this server can "
                "write to (BAILIAN_OUTPUT_DIR, --output-dir). Nothing was sent."
            )

    def _output_path(self, job_id: str, index: int, suffix: str) -> Path:
        folder = self.settings.output_dir / datetime.now(UTC).strftime("%Y-%m-%d")
        folder.mkdir(parents=True, exist_ok=True)
        return folder / f"{job_id}-{index}{suffix}"

    async def _save_outputs(
        self,
        job_id: str,
        default_suffix: str,
        outputs: list[OutputFile],
        report: Callable[[str], Awaitable[None]],
        warnings: list[str],
    ) -> list[OutputFile]:
        """Download every output that has a URL and no local file yet, and describe what was saved."""
        saved = []
        url_only = self.settings.result_mode == "url"
        for output in outputs:
            keep_remote = url_only and output.kind != "transcript"  # a transcript's text is read from its file
            if output.url is None or keep_remote or (output.path is not None and Path(output.path).exists()):
                saved.append(output)
                continue
            await report(f"Saving {output.kind} {output.index + 1} of {len(outputs)}.")
            try:
                dest = self._output_path(job_id, output.index, suffix_for(output.url, default_suffix))
                file = await download(self.client.http, output.url, dest, max_bytes=self.settings.download_max_bytes)
            except (DownloadError, OSError) as exc:
                reason = f"{exc}" if isinstance(exc, DownloadError) else f"the output folder failed ({exc})."
                warnings.append(f"Could not save {output.kind} {output.index}: {reason} Its URL is in the result.")
                saved.append(output)
                continue
            saved.append(await describe_file(output, file.path, file.size, file.sha256, file.mime_type))
        return saved


async def describe_file(output: OutputFile, path: Path, size: int, sha256: str, mime_type: str) -> OutputFile:
    """`output` with its saved file's facts: path, size, checksum, and pixels or duration."""
    update: dict[str, Any] = {"path": str(path), "bytes": size, "sha256": sha256, "mime_type": mime_type}
    if output.kind == "image" and (info := await image_info(path)) is not None:
        update.update(width=info.width, height=info.height)
    if output.kind in ("audio", "video") and output.duration_seconds is None:
        update["duration_seconds"] = media_duration(path)
    return output.model_copy(update=update)


_STATUSES = frozenset(get_args(JobStatus))


def _job_status(status: str) -> Any:
    return status if status in _STATUSES else "UNKNOWN"


def _numbers(usage: Any) -> dict[str, float]:
    return {k: float(v) for k, v in dict(usage).items() if isinstance(v, int | float) and not isinstance(v, bool)}


INLINE_DATA_KEPT = 256  # characters of a data: URI kept in the job record


def _for_the_record(value: Any) -> Any:
    """`value` as the job store keeps it: inline `data:` URIs (images of many MB) shortened to their digest."""
    if isinstance(value, str) and value.startswith("data:") and len(value) > INLINE_DATA_KEPT:
        digest = hashlib.sha256(value.encode()).hexdigest()
        return f"{value.split(',', 1)[0]},… ({len(value)} characters, sha256 {digest})"
    if isinstance(value, dict):
        return {k: _for_the_record(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_for_the_record(v) for v in value]
    return value


def _where_to_look(job: Job) -> str:
    if isinstance(CAPABILITIES.get(job.capability), AsyncTaskCapability):
        return "list_tasks shows the tasks DashScope created"
    return "DashScope may have done (and charged) it"


def _error_dict(exc: errors.DashScopeError) -> dict[str, Any]:
    return {"code": exc.code or type(exc).__name__, "message": str(exc)}


def _task_error(snapshot: TaskSnapshot) -> ErrorInfo:
    if snapshot.status == "FAILED":
        return ErrorInfo(
            code=str(snapshot.output.get("code") or "Unknown"), message=str(snapshot.output.get("message") or "")
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
        first = failed[0].error
        text += (
            f" {len(failed)} of {len(outputs)} failed ({first.code if first else 'Unknown'}); see each output's error."
        )
    return text


def _exchange_message(capability: str, outputs: list[OutputFile], outcome: Outcome) -> str:
    if outcome.error is not None:
        return (
            f"DashScope stopped part-way with {outcome.error.code}: {outcome.error.message}. What arrived before "
            "that is kept in this result."
        )
    if outputs:
        return _success_message(outputs)
    if outcome.finish_reason == "length":
        return "Stopped at max_tokens (finish_reason length): raise max_tokens for a longer answer."
    return f"Done ({outcome.finish_reason or 'stop'})."


def _joined_text(outputs: list[OutputFile]) -> str | None:
    texts = [o.text for o in outputs if o.text]
    return "\n".join(texts) if texts else None
