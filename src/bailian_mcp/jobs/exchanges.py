"""Direct exchanges (a JSON call, an SSE stream, a WebSocket session) run in the background, owned by the process.

A caller waits for its exchange a bounded time; one that outlives the wait keeps running, its result stored when
it arrives, and a later caller (the same, or `resume`) waits on the same exchange instead of sending it again.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import anyio
from anyio.abc import TaskGroup

from bailian_mcp.capabilities.base import Capability, ExchangeContext, Outcome, Request
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.jobs import messages
from bailian_mcp.jobs.outputs import OutputFolder
from bailian_mcp.jobs.results import JobResult, numbers
from bailian_mcp.jobs.store import Job, JobStore
from bailian_mcp.jobs.submission import record_send_failure

TextListener = Callable[[str], Awaitable[None]]
Report = Callable[[str], Awaitable[None]]


@dataclass
class Exchange:
    """A direct exchange running in the background, and whoever is waiting for it."""

    done: anyio.Event = field(default_factory=anyio.Event)
    result: JobResult | None = None
    error: BaseException | None = None
    listener: Report | None = None
    text_listener: TextListener | None = None

    async def report(self, message: str) -> None:
        if self.listener is not None:
            await self.listener(message)

    async def report_text(self, piece: str) -> None:
        if self.text_listener is not None:
            await self.text_listener(piece)


class Exchanges:
    """The direct exchanges of this process, by job id."""

    def __init__(
        self, *, client: DashScopeClient, store: JobStore, outputs: OutputFolder, background: TaskGroup
    ) -> None:
        self._client = client
        self._store = store
        self._outputs = outputs
        self._background = background
        self._running: dict[str, Exchange] = {}

    def running(self, job_id: str) -> Exchange | None:
        return self._running.get(job_id)

    async def start(
        self,
        job: Job,
        capability: Capability,
        request: Request,
        wait_seconds: float,
        report: Report,
        on_text: TextListener | None = None,
    ) -> JobResult:
        """Start the request's exchange in the background and wait for it up to `wait_seconds`."""
        exchange = Exchange(text_listener=on_text)
        self._running[job.job_id] = exchange
        await self._store.hold(job.job_id)  # the exchange's own (released by it): the caller's may end before it
        self._background.start_soon(self._run, job, capability, request, exchange)
        return await self.wait(job, exchange, wait_seconds, report)

    async def wait(self, job: Job, exchange: Exchange, wait_seconds: float, report: Report) -> JobResult:
        """Its result, its error raised, or (after `wait_seconds`) a handle to wait again with."""
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
            capability=job.capability,
            model=job.model,
            status="RUNNING",
            done=False,
            message=messages.still_working(wait_seconds, job.job_id),
            next_step="resume",
        )

    async def _run(self, job: Job, capability: Capability, request: Request, exchange: Exchange) -> None:
        try:
            context = ExchangeContext(
                client=self._client,
                progress=exchange.report,
                text=exchange.report_text,
                output_path=lambda index, suffix: self._outputs.path(job.job_id, index, suffix),
                piece_path=self._outputs.piece_path,
                max_download_bytes=self._outputs.max_bytes,
            )
            try:
                assert request.exchange is not None
                outcome = await request.exchange(context, request)
            except BaseException as exc:
                exchange.error = await record_send_failure(self._store, job, exc, creates_task=False)
                if not isinstance(exc, Exception):
                    raise
                return
            exchange.result = await self._finish(job, capability, request, outcome, exchange)
        except Exception as exc:  # a bug or a local failure (disk full): keep the job on record, tell the waiter
            exchange.error = exc
            with anyio.CancelScope(shield=True):
                await self._store.set_status(
                    job.job_id, "FAILED", error={"code": type(exc).__name__, "message": str(exc)}
                )
        finally:
            exchange.done.set()
            self._running.pop(job.job_id, None)
            await self._store.release(job.job_id)

    async def _finish(
        self, job: Job, capability: Capability, request: Request, outcome: Outcome, exchange: Exchange
    ) -> JobResult:
        warnings = list(request.warnings)
        outputs = await self._outputs.save(
            self._client, job.job_id, capability.file_suffix, outcome.outputs, exchange.report, warnings
        )
        status = "FAILED" if outcome.error else "SUCCEEDED"
        result = JobResult(
            job_id=job.job_id,
            capability=capability.name,
            model=request.model.name,
            status=status,
            done=True,
            text=outcome.text,
            finish_reason=outcome.finish_reason,
            outputs=outputs,
            usage=numbers(outcome.usage),
            cost=request.model.price.cost(outcome.usage),
            error=outcome.error,
            warnings=warnings,
            message=messages.exchanged(outputs, outcome),
        )
        await self._store.save_result(job.job_id, status, result.model_dump(mode="json"))
        return result
