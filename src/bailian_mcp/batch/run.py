"""Running a checked batch: tasks start in file order, each resumed, reused or submitted, concurrently within limits.

* at most `concurrency` tasks at once, and at most each model's own concurrency
  (`ModelSpec.rate.concurrency`) of one model at once; the client paces submissions to each model's rate;
* resumption: a task whose job (found by fingerprint, see `checks`) finished is reused (its result, files
  saved again if missing), a job still running is followed again, and only a task with no job yet, or one
  that made nothing (REJECTED, CANCELED), is submitted; `retry_failed` also resubmits tasks that ended
  FAILED or UNKNOWN, or whose submission is uncertain (see `jobs.status.may_send_again`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio

from bailian_mcp.batch.file import BatchTask
from bailian_mcp.batch.report import Outcome, TaskReport, initial_report, report_from_result
from bailian_mcp.dashscope.errors import DashScopeConnectionError, DashScopeError
from bailian_mcp.errors import BailianError, ConfigurationError, InputError
from bailian_mcp.jobs.results import Cost, ErrorInfo, JobResult, sum_costs
from bailian_mcp.jobs.runner import STORE_WATCH_SECONDS, ProgressCallback
from bailian_mcp.jobs.services import Services
from bailian_mcp.jobs.status import may_send_again
from bailian_mcp.jobs.store import Job
from bailian_mcp.jobs.submission import SubmitUncertainError
from bailian_mcp.jobs.wording import Wording

log = logging.getLogger(__name__)
CLAIM_WAIT_SECONDS = 120.0
"""How long a task another worker claimed may take to be recorded (its local files uploaded) before it is given up."""


class Display(Protocol):
    """Where a batch shows its tasks' progress (the CLI's live display)."""

    def invalid(self, index: int, reason: str) -> None: ...

    def started(self, index: int, what: str) -> None: ...

    def finished(self, index: int, ok: bool, outcome: str) -> None: ...

    def callback(self, index: int) -> ProgressCallback: ...


@dataclass
class BatchRun:
    """Runs the valid tasks of a checked batch; `reports` holds every task's state as it goes."""

    services: Services
    tasks: Sequence[BatchTask]
    display: Display
    words: Wording
    concurrency: int = 4
    wait_seconds: float = 1800.0
    retry_failed: bool = False
    confirmed: bool = False  # the user agreed to the cost of tasks quoted above BAILIAN_CONFIRM_ABOVE_CNY
    reports: list[TaskReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reports = [initial_report(t) for t in self.tasks]
        self._limiter = anyio.CapacityLimiter(max(1, self.concurrency))
        self._model_slots: dict[str, anyio.Semaphore] = {}
        for task in self.tasks:
            if task.model is not None and task.model.name not in self._model_slots:
                self._model_slots[task.model.name] = anyio.Semaphore(max(1, task.model.rate.concurrency))

    def resubmits(self, job: Job) -> bool:
        """Whether `job` (found by fingerprint) is to be replaced by a new submission."""
        return may_send_again(job.status, retry_failed=self.retry_failed)

    async def run(self) -> None:
        async with anyio.create_task_group() as group:
            for task in self.tasks:
                if task.error is None:
                    group.start_soon(self._run_task, task)
                else:
                    self.display.invalid(task.index, task.error.message)

    async def _run_task(self, task: BatchTask) -> None:
        try:
            await self._follow(task)
        except Exception as exc:  # one task's local failure must not stop the others
            log.exception("batch task %s failed", task.label)
            self._failed(task, exc, outcome="submitted")

    async def _follow(self, task: BatchTask) -> None:
        assert task.fingerprint is not None and task.model is not None and task.capability is not None
        store, runner = self.services.store, self.services.runner
        progress = self.display.callback(task.index)
        job = await store.find_by_fingerprint(task.fingerprint)
        if job is not None and (job.result is not None or job.final) and not self.resubmits(job):
            self.display.started(task.index, f"done earlier ({job.job_id}, {job.status}): reusing its result")
            result = await runner.resume(job.job_id, wait_seconds=0, progress=progress)
            self._finished(task, result, "reused")
            return
        async with self._model_slots[task.model.name], self._limiter:
            if job is None or self.resubmits(job):
                if await store.claim(task.fingerprint, replaces=job.job_id if job else None):
                    await self._submit(task)
                    return
                job = await self._claimed_elsewhere(task, job)
            self.display.started(task.index, f"resuming {job.job_id} ({job.status})")
            result = await runner.resume(job.job_id, wait_seconds=self.wait_seconds, progress=progress)
            self._finished(task, result, "resumed")

    async def _submit(self, task: BatchTask) -> None:
        assert task.capability is not None
        self.display.started(task.index, "submitting")
        try:
            result = await self.services.runner.run(
                task.capability,
                task.params,
                wait_seconds=self.wait_seconds,
                progress=self.display.callback(task.index),
                fingerprint=task.fingerprint,
                confirmed=self.confirmed,
            )
        except BailianError as exc:
            await self._refused(task, exc)
            return
        self._finished(task, result, "submitted")

    async def _claimed_elsewhere(self, task: BatchTask, replaced: Job | None) -> Job:
        """The job another batch worker on this store records for a task it claimed (then followed here)."""
        assert task.fingerprint is not None
        self.display.started(task.index, "sent by another batch worker: waiting for its job")
        with anyio.fail_after(CLAIM_WAIT_SECONDS):
            while True:
                job = await self.services.store.find_by_fingerprint(task.fingerprint)
                if job is not None and (replaced is None or job.job_id != replaced.job_id):
                    return job
                await anyio.sleep(STORE_WATCH_SECONDS)

    def _finished(self, task: BatchTask, result: JobResult, outcome: Outcome) -> None:
        result = self.words.result(result)
        report = report_from_result(task, result, outcome)
        self.reports[task.index] = report
        cost = f", {result.cost.amount:g} {result.cost.currency}" if result.cost else ""
        self.display.finished(task.index, report.ok, f"{result.status} ({outcome}{cost}) — {result.message}")

    async def _refused(self, task: BatchTask, exc: BailianError) -> None:
        """A submission that raised: the service refused it, its fate is uncertain, or it was invalid after all."""
        assert task.fingerprint is not None
        if isinstance(exc, SubmitUncertainError) or (isinstance(exc, DashScopeConnectionError) and exc.request_sent):
            status = "SUBMIT_UNCERTAIN"
        elif isinstance(exc, DashScopeError):
            status = "REJECTED"
        elif isinstance(exc, InputError | ConfigurationError):
            status = "INVALID"
        else:
            status = "FAILED"
        job = await self.services.store.find_by_fingerprint(task.fingerprint)
        self._failed(task, exc, outcome="submitted", status=status, job=job)

    def _failed(
        self, task: BatchTask, exc: BaseException, *, outcome: Outcome, status: str = "ERROR", job: Job | None = None
    ) -> None:
        code = getattr(exc, "code", None) or type(exc).__name__
        text = self.words.error(exc)
        error = ErrorInfo(code=str(code), message=text or type(exc).__name__)
        report = self.reports[task.index].model_copy(
            update={
                "status": status,
                "outcome": "invalid" if status == "INVALID" else outcome,
                "done": True,
                "ok": False,
                "error": error,
                "message": text,
                "job_id": job.job_id if job else None,
                "task_id": job.task_id if job else None,
            }
        )
        self.reports[task.index] = report
        self.display.finished(task.index, False, f"{status} — {error.code}: {error.message}")

    async def settle(self) -> None:
        """After an interruption: fill in, from the job store, the jobs of tasks that had not finished."""
        for task in self.tasks:
            report = self.reports[task.index]
            if report.done or task.fingerprint is None:
                continue
            job = await self.services.store.find_by_fingerprint(task.fingerprint)
            if job is None or (report.job_id is not None and job.job_id != report.job_id):
                continue
            self.reports[task.index] = report.model_copy(
                update={
                    "status": job.status,
                    "job_id": job.job_id,
                    "task_id": job.task_id,
                    "outcome": "submitted" if report.outcome == "not_run" else report.outcome,
                    "message": "Interrupted before it finished; run the batch again to pick it up.",
                }
            )


async def plan(services: Services, tasks: Sequence[BatchTask], *, retry_failed: bool) -> list[str]:
    """What running the batch would do with each task, and what the tasks to send would cost (for --dry-run);
    sends nothing."""
    lines = []
    costs: list[Cost] = []
    unpriced = 0
    for task in tasks:
        if task.error is not None:
            lines.append(f"{task.label}: invalid — {task.error.message}")
            continue
        assert task.fingerprint is not None and task.capability is not None
        job = await services.store.find_by_fingerprint(task.fingerprint)
        sending = job is None or may_send_again(job.status, retry_failed=retry_failed)
        price = ""
        if sending:
            priced = await services.runner.run(task.capability, task.params, wait_seconds=0, dry_run=True)
            if priced.cost is not None:
                costs.append(priced.cost)
                price = f", {priced.cost.amount:g} {priced.cost.currency}"
            else:
                price = ", price known once done"
                unpriced += 1
        if job is None:
            action = f"would submit{price}"
        elif sending:
            action = f"would submit again{price} (earlier job {job.job_id} is {job.status})"
        elif job.result is not None or job.final:
            action = f"would reuse job {job.job_id} ({job.status})"
        else:
            action = f"would resume job {job.job_id} ({job.status})"
        lines.append(f"{task.label}: {action}")
    for total in sum_costs(costs, of="tasks"):
        unknown = f"; {unpriced} more priced only once done" if unpriced else ""
        lines.append(f"Would cost {total.amount:g} {total.currency} ({total.basis}{unknown}).")
    return lines
