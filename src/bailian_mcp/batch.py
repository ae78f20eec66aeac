"""The batch runner: a JSON file of tasks, checked together, run concurrently, reported, and resumable.

The file (see examples/README.md)::

    {
      "image_tasks": [{"model": "wan2.2-t2i-flash", "prompt": "futuristic tech city", "size": "1440*810", "n": 2}],
      "text_tasks":  [{"model": "qwen-turbo", "prompt": "write product copy"}],
      "video_tasks": [{"model": "wan2.1-t2v-plus", "prompt": "sunrise time-lapse", "duration": 10}],
      "edit_image_tasks": [...],                                    # "<capability>_tasks", for every capability
      "tasks": [{"capability": "text_to_speech", "text": "你好"}],    # or each task naming its capability
      "_note": "keys starting with _ are ignored"
    }

A task is the capability's parameters, the same names as its MCP tool and CLI options.

Life of a batch:
  1. read: a file that is not a JSON object of task lists, or has an unknown key, stops here (nothing sent);
  2. check every task (`parse_params`, then the capability's own rules, exactly as a call would) and
     report every problem at once; an invalid task fails alone, the others run;
  3. run: tasks start in file order, at most `concurrency` at once and at most each model's own
     concurrency (`ModelSpec.rate.concurrency`) of one model at once; the client paces submissions
     to each model's rate;
  4. report: per task its status, job and task ids, outputs, cost and error, with totals.

Resumption: each valid task has a fingerprint, a hash of where the batch runs (the file's absolute
path and the service's base URL), the capability, the task's parameters (validated, defaults left
out, so `"n": 1` and no `n` are the same task) and its occurrence (the first, second, ... task with
exactly that content in the file, so two identical tasks are two jobs, and reordering or adding
tasks keeps the others' fingerprints). The job store keeps the fingerprint with the job. Running
the file again, a task whose job finished is reused (its result, files saved again if missing), a
job still running is followed again, and only a task with no job yet, or one DashScope refused
(REJECTED) or that was cancelled (nothing made, nothing charged), is submitted. `retry_failed`
also resubmits tasks that ended FAILED or UNKNOWN, or whose submission is uncertain.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import anyio
from pydantic import BaseModel, Field

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import BuildContext, Capability, parse_params
from bailian_mcp.catalog import ModelSpec
from bailian_mcp.cli_options import COMMAND_CAPABILITIES, absolute_paths, field_options
from bailian_mcp.config import Settings
from bailian_mcp.dashscope.errors import DashScopeConnectionError, DashScopeError
from bailian_mcp.errors import BailianError, ConfigurationError, InputError
from bailian_mcp.jobs import Job
from bailian_mcp.results import Cost, ErrorInfo, JobResult, OutputFile
from bailian_mcp.runner import SubmitUncertainError
from bailian_mcp.runtime import Services

if TYPE_CHECKING:
    from bailian_mcp.progress_display import BatchDisplay  # rich loads only when a batch runs

log = logging.getLogger(__name__)

BRIEF_SECTIONS = {"image_tasks": "text_to_image", "text_tasks": "text_to_text", "video_tasks": "text_to_video"}
SECTIONS: dict[str, str] = {**BRIEF_SECTIONS, **{f"{name}_tasks": name for name in CAPABILITIES}}
MIXED_SECTION = "tasks"
CAPABILITY_KEY = "capability"
FINGERPRINT_VERSION = 1

RESUBMIT = frozenset({"REJECTED", "CANCELED"})  # nothing was made or charged: submitting again is safe
RETRYABLE = frozenset({"FAILED", "UNKNOWN", "SUBMIT_UNCERTAIN"})  # resubmitted only when asked (retry_failed)

Outcome = Literal["submitted", "resumed", "reused", "invalid", "not_run"]


class BatchFileError(BailianError):
    """The file cannot be read as a batch; nothing was sent."""


# ---------------------------------------------------------------------------------------------------- reading


@dataclass
class BatchTask:
    """One task of the file: where it is, what it asks, and (once checked) its parameters or its problem."""

    index: int
    source: str  # where it is in the file, e.g. "image_tasks[0]"
    raw: dict[str, Any]
    capability: Capability | None = None
    params: Any = None
    model: ModelSpec | None = None
    fingerprint: str | None = None
    error: ErrorInfo | None = None

    @property
    def label(self) -> str:
        what = self.capability.name if self.capability else "?"
        model = self.model.name if self.model else self.raw.get("model")
        return f"#{self.index} {self.source} {what}" + (f" {model}" if isinstance(model, str) else "")

    def invalid(self, message: str, code: str = "InvalidTask") -> None:
        self.error = ErrorInfo(code=code, message=message)


def _capability_named(name: Any) -> Capability | None:
    if not isinstance(name, str):
        return None
    key = name.strip()
    return CAPABILITIES.get(COMMAND_CAPABILITIES.get(key, key))


BATCH_MAX_BYTES = 16 * 2**20


def read_batch(path: Path) -> list[BatchTask]:
    """The tasks of a batch file, in file order; raises BatchFileError for a file that is not a batch."""
    try:
        with path.open("rb") as file:
            content = file.read(BATCH_MAX_BYTES + 1)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise BatchFileError(f"Cannot read the batch file {path}: {reason}. Nothing was sent.") from None
    if len(content) > BATCH_MAX_BYTES:
        raise BatchFileError(
            f"{path} is larger than {BATCH_MAX_BYTES // 2**20} MiB, too large for a batch file. Nothing was sent."
        )
    try:
        data = json.loads(content.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise BatchFileError(
            f"{path} is not UTF-8 text (byte {exc.start} cannot be read); save it as UTF-8 JSON. Nothing was sent."
        ) from None
    except json.JSONDecodeError as exc:
        raise BatchFileError(
            f"{path} is not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}). Nothing was sent."
        ) from None
    except RecursionError:
        raise BatchFileError(f"{path} nests JSON too deeply to be a batch file. Nothing was sent.") from None
    if not isinstance(data, dict):
        raise BatchFileError(f"{path} must hold a JSON object of task lists, e.g. {_EXAMPLE}. Nothing was sent.")
    known = [*SECTIONS, MIXED_SECTION]
    problems = []
    for key, value in data.items():
        if key.startswith("_"):
            continue
        if key not in known:
            problems.append(
                f"unknown key {key!r} (the task lists are {', '.join(known)}; keys starting with _ are ignored)"
            )
        elif not isinstance(value, list):
            problems.append(f"{key!r} must be a list of tasks, not {type(value).__name__}")
    if problems:
        raise BatchFileError(f"{path}: " + "; ".join(problems) + ". Nothing was sent.")
    tasks: list[BatchTask] = []
    for key, entries in data.items():
        if key.startswith("_"):
            continue
        for position, entry in enumerate(entries):
            task = BatchTask(index=len(tasks), source=f"{key}[{position}]", raw={})
            task.capability = CAPABILITIES[SECTIONS[key]] if key in SECTIONS else None
            tasks.append(task)
            if not isinstance(entry, dict):
                task.invalid(f"a task is a JSON object of parameters, not {type(entry).__name__}")
                continue
            raw = dict(entry)
            if key == MIXED_SECTION:
                named = raw.pop(CAPABILITY_KEY, None)
                task.capability = _capability_named(named)
                task.raw = raw
                if task.capability is None:
                    choices = ", ".join(CAPABILITIES)
                    task.invalid(
                        f"Missing {CAPABILITY_KEY}: each entry of 'tasks' names its capability, one of {choices}"
                        if named is None
                        else f"Invalid {CAPABILITY_KEY}={named!r}: the capabilities are {choices}"
                    )
            else:
                task.raw = raw
    if not tasks:
        raise BatchFileError(f"{path} holds no tasks; e.g. {_EXAMPLE}. Nothing was sent.")
    return tasks


_EXAMPLE = '{"image_tasks": [{"prompt": "a red lantern"}]}'


# ---------------------------------------------------------------------------------------------------- checking


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fingerprint(*, scope: str, base_url: str, capability: str, params: BaseModel, occurrence: int) -> str:
    """The stable identity of a batch task (see the module docstring)."""
    content = {
        "v": FINGERPRINT_VERSION,
        "scope": scope,
        "base_url": base_url,
        "capability": capability,
        "params": params.model_dump(mode="json", exclude_defaults=True),
        "occurrence": occurrence,
    }
    return "batch:" + hashlib.sha256(_canonical(content).encode()).hexdigest()


def check(tasks: Sequence[BatchTask], settings: Settings, *, scope: str, base_dir: Path) -> None:
    """Validate every task as a call would (parameters, then the capability's rules) and fingerprint the valid."""
    context = BuildContext(settings.region, settings.allowed_input_roots)
    seen: dict[str, int] = {}
    for task in tasks:
        if task.error is not None or task.capability is None:
            continue
        capability = task.capability
        try:
            raw = absolute_paths(task.raw, field_options(capability.params_model), base_dir)
            params = parse_params(capability.params_model, raw)
            request = capability.build(params, context)
        except BailianError as exc:
            task.invalid(str(exc), code=type(exc).__name__)
            continue
        task.params, task.model = params, request.model
        key = _canonical([capability.name, params.model_dump(mode="json", exclude_defaults=True)])
        occurrence = seen.get(key, 0)
        seen[key] = occurrence + 1
        task.fingerprint = fingerprint(
            scope=scope,
            base_url=settings.resolved_base_url,
            capability=capability.name,
            params=params,
            occurrence=occurrence,
        )


def problems_text(tasks: Sequence[BatchTask]) -> str | None:
    """Every invalid task and why, in one message (None when all are valid)."""
    bad = [t for t in tasks if t.error is not None]
    if not bad:
        return None
    lines = [f"{len(bad)} of {len(tasks)} task(s) are invalid and will not be sent:"]
    lines += [f"  {t.label}: {t.error.message}" for t in bad if t.error is not None]
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- report


class TaskReport(BaseModel):
    index: int = Field(description="Position in the file, from 0, counting every task list in order.")
    source: str = Field(description="Where the task is in the file, e.g. image_tasks[0].")
    capability: str | None = None
    model: str | None = None
    status: str = Field(description="The job's status, or INVALID (refused locally), NOT_RUN, ERROR.")
    ok: bool = Field(False, description="Done, succeeded, and every output made.")
    outcome: Outcome = Field(
        description="submitted: sent in this run; resumed: followed a job an earlier run created; "
        "reused: an earlier run's finished result; invalid: refused before sending; not_run: never started."
    )
    done: bool = False
    job_id: str | None = None
    task_id: str | None = None
    outputs: list[OutputFile] = Field(default_factory=list)
    text: str | None = None
    cost: Cost | None = None
    error: ErrorInfo | None = None
    message: str = ""
    warnings: list[str] = Field(default_factory=list)
    fingerprint: str | None = None


class Totals(BaseModel):
    tasks: int
    succeeded: int = Field(description="Done, succeeded, every output made.")
    partial: int = Field(description="Something was made, something failed (an output, or the end of a text).")
    failed: int = Field(description="Sent, and nothing was made: refused, failed, cancelled, expired.")
    invalid: int = Field(description="Refused locally; nothing was sent.")
    running: int = Field(description="Still running when the wait ran out, or when the batch was interrupted.")
    not_run: int = 0
    submitted: int = 0
    resumed: int = 0
    reused: int = 0
    cost: list[Cost] = Field(default_factory=list, description="The tasks' costs, per currency.")


class BatchReport(BaseModel):
    file: str
    report: str | None = None
    started_at: str
    finished_at: str
    elapsed_seconds: float
    interrupted: bool = False
    tasks: list[TaskReport]
    totals: Totals


def is_complete(result: JobResult) -> bool:
    """Done, succeeded, and nothing in it failed."""
    return (
        result.done
        and result.status == "SUCCEEDED"
        and result.error is None
        and not any(o.error is not None for o in result.outputs)
    )


def _report_from_result(task: BatchTask, result: JobResult, outcome: Outcome) -> TaskReport:
    return TaskReport(
        index=task.index,
        source=task.source,
        capability=result.capability,
        model=result.model,
        status=result.status,
        ok=is_complete(result),
        outcome=outcome,
        done=result.done,
        job_id=result.job_id,
        task_id=result.task_id,
        outputs=[o.model_copy(update={"segments": None}) for o in result.outputs],
        text=result.text,
        cost=result.cost,
        error=result.error,
        message=result.message,
        warnings=result.warnings,
        fingerprint=task.fingerprint,
    )


def _initial_report(task: BatchTask) -> TaskReport:
    return TaskReport(
        index=task.index,
        source=task.source,
        capability=task.capability.name if task.capability else None,
        model=task.model.name
        if task.model
        else (task.raw.get("model") if isinstance(task.raw.get("model"), str) else None),
        status="INVALID" if task.error else "NOT_RUN",
        outcome="invalid" if task.error else "not_run",
        done=task.error is not None,
        error=task.error,
        message=task.error.message if task.error else "",
        fingerprint=task.fingerprint,
    )


def category(report: TaskReport) -> str:
    """succeeded, partial, failed, invalid, running or not_run: how a task's report is counted."""
    if report.outcome == "invalid":
        return "invalid"
    if report.outcome == "not_run" and report.job_id is None:
        return "not_run"
    if not report.done:
        return "running"
    if report.ok:
        return "succeeded"
    if report.text or any(o.error is None and (o.path or o.url) for o in report.outputs):
        return "partial"
    return "failed"


def sum_costs(costs: Sequence[Cost]) -> list[Cost]:
    amounts: dict[str, float] = {}
    counts: dict[str, int] = {}
    for cost in costs:
        amounts[cost.currency] = amounts.get(cost.currency, 0.0) + cost.amount
        counts[cost.currency] = counts.get(cost.currency, 0) + 1
    return [
        Cost(amount=round(amount, 8), currency=currency, basis=f"{counts[currency]} priced task(s)")
        for currency, amount in amounts.items()
    ]


def totals(reports: Sequence[TaskReport]) -> Totals:
    categories = [category(r) for r in reports]
    outcomes = [r.outcome for r in reports]
    return Totals(
        tasks=len(reports),
        succeeded=categories.count("succeeded"),
        partial=categories.count("partial"),
        failed=categories.count("failed"),
        invalid=categories.count("invalid"),
        running=categories.count("running"),
        not_run=categories.count("not_run"),
        submitted=outcomes.count("submitted"),
        resumed=outcomes.count("resumed"),
        reused=outcomes.count("reused"),
        cost=sum_costs([r.cost for r in reports if r.cost is not None]),
    )


def exit_code(report: BatchReport) -> int:
    """0 every task succeeded; 4 some did (or some made part, or are still running); 2 every task was
    invalid (nothing was sent); 3 otherwise (what was sent failed at the service)."""
    t = report.totals
    if t.succeeded == t.tasks:
        return 0
    if t.succeeded or t.partial or t.running or t.not_run:
        return 4
    if t.invalid == t.tasks:
        return 2
    return 3


def default_report_path(batch_file: Path) -> Path:
    """`tasks.json` -> `tasks.report.json`, beside it."""
    return batch_file.with_name(batch_file.stem + ".report.json")


def write_report(report: BatchReport, path: Path) -> None:
    """Write the report atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    partial.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
    os.replace(partial, path)


def report_text(report: BatchReport) -> str:
    """The human summary: one block per task, then the totals."""
    lines = []
    for r in report.tasks:
        cost = f", {r.cost.amount:g} {r.cost.currency}" if r.cost else ""
        head = f"#{r.index} {r.source} {r.capability or '?'} {r.model or ''}".rstrip()
        lines.append(f"{head}: {r.status} ({r.outcome}{cost})")
        if r.error is not None and not r.ok:
            lines.append(f"    {r.error.code}: {r.error.message}")
        elif not r.done:
            lines.append(f"    {r.message}")
        for output in r.outputs:
            where = output.path or output.url
            lines.append(
                f"    {output.kind} {output.index}: "
                + (f"failed — {output.error.message}" if output.error else f"{where}")
            )
        if r.text and r.capability == "text_to_text":
            shown = r.text if len(r.text) <= 300 else r.text[:300] + " […]"
            lines.extend("    | " + line for line in shown.splitlines())
        lines.extend(f"    warning: {w}" for w in r.warnings)
    t = report.totals
    counts = [
        f"{value} {name}"
        for name, value in (
            ("succeeded", t.succeeded),
            ("partial", t.partial),
            ("failed", t.failed),
            ("invalid", t.invalid),
            ("running", t.running),
            ("not run", t.not_run),
        )
        if value
    ]
    lines.append(f"{t.tasks} task(s): {', '.join(counts)}.")
    how = [
        f"{value} {name}"
        for name, value in (("submitted", t.submitted), ("resumed", t.resumed), ("reused", t.reused))
        if value
    ]
    if how:
        lines.append(f"This run: {', '.join(how)}.")
    lines.extend(f"Cost: {c.amount:g} {c.currency} ({c.basis})." for c in t.cost)
    if t.running or report.interrupted:
        lines.append("Run the same command again to pick up the unfinished tasks; nothing is submitted twice.")
    if report.report:
        lines.append(f"Report: {report.report}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------------------------------- running


@dataclass
class BatchRun:
    """Runs the valid tasks of a checked batch; `reports` holds every task's state as it goes."""

    services: Services
    tasks: Sequence[BatchTask]
    display: BatchDisplay
    concurrency: int = 4
    wait_seconds: float = 1800.0
    retry_failed: bool = False
    reports: list[TaskReport] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.reports = [_initial_report(t) for t in self.tasks]
        self._limiter = anyio.CapacityLimiter(max(1, self.concurrency))
        self._model_slots: dict[str, anyio.Semaphore] = {}
        for task in self.tasks:
            if task.model is not None and task.model.name not in self._model_slots:
                self._model_slots[task.model.name] = anyio.Semaphore(max(1, task.model.rate.concurrency))

    def resubmits(self, job: Job) -> bool:
        """Whether `job` (found by fingerprint) is to be replaced by a new submission."""
        return job.status in RESUBMIT or (self.retry_failed and job.status in RETRYABLE)

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
                self.display.started(task.index, "submitting")
                try:
                    result = await runner.run(
                        task.capability,
                        task.params,
                        wait_seconds=self.wait_seconds,
                        progress=progress,
                        fingerprint=task.fingerprint,
                    )
                except BailianError as exc:
                    await self._refused(task, exc)
                    return
                self._finished(task, result, "submitted")
            else:
                self.display.started(task.index, f"resuming {job.job_id} ({job.status})")
                result = await runner.resume(job.job_id, wait_seconds=self.wait_seconds, progress=progress)
                self._finished(task, result, "resumed")

    def _finished(self, task: BatchTask, result: JobResult, outcome: Outcome) -> None:
        report = _report_from_result(task, result, outcome)
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
        error = ErrorInfo(code=str(code), message=str(exc) or type(exc).__name__)
        report = self.reports[task.index].model_copy(
            update={
                "status": status,
                "outcome": "invalid" if status == "INVALID" else outcome,
                "done": True,
                "ok": False,
                "error": error,
                "message": str(exc),
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


def build_report(
    run: BatchRun, *, batch_file: Path, report_path: Path | None, started: float, interrupted: bool
) -> BatchReport:
    now = time.time()
    return BatchReport(
        file=str(batch_file),
        report=str(report_path) if report_path else None,
        started_at=_iso(started),
        finished_at=_iso(now),
        elapsed_seconds=round(now - started, 3),
        interrupted=interrupted,
        tasks=run.reports,
        totals=totals(run.reports),
    )


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=UTC).isoformat().replace("+00:00", "Z")


async def plan(services: Services, tasks: Sequence[BatchTask], *, retry_failed: bool) -> list[str]:
    """What running the batch would do with each task (for --dry-run); sends nothing."""
    lines = []
    for task in tasks:
        if task.error is not None:
            lines.append(f"{task.label}: invalid — {task.error.message}")
            continue
        assert task.fingerprint is not None
        job = await services.store.find_by_fingerprint(task.fingerprint)
        if job is None:
            action = "would submit"
        elif job.status in RESUBMIT or (retry_failed and job.status in RETRYABLE):
            action = f"would submit again (earlier job {job.job_id} is {job.status})"
        elif job.result is not None or job.final:
            action = f"would reuse job {job.job_id} ({job.status})"
        else:
            action = f"would resume job {job.job_id} ({job.status})"
        lines.append(f"{task.label}: {action}")
    return lines
