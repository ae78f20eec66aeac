"""A batch's report: each task's status, job and task ids, outputs, cost and error, with the totals; as JSON and as
text, and its exit code."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from bailian_mcp.batch.file import BatchTask
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import Product
from bailian_mcp.exit_codes import EXIT_INPUT, EXIT_OK, EXIT_PARTIAL, EXIT_SERVICE
from bailian_mcp.jobs.results import Cost, ErrorInfo, JobResult, OutputFile, iso_utc, produced, sum_costs

Outcome = Literal["submitted", "resumed", "reused", "invalid", "not_run"]


def _product(capability: str | None) -> Product | None:
    known = CAPABILITIES.get(capability or "")
    return known.product if known else None


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


def report_from_result(task: BatchTask, result: JobResult, outcome: Outcome) -> TaskReport:
    return TaskReport(
        index=task.index,
        source=task.source,
        capability=result.capability,
        model=result.model,
        status=result.status,
        ok=result.complete,
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


def initial_report(task: BatchTask) -> TaskReport:
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
    if produced(report.text, report.outputs):
        return "partial"
    return "failed"


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
        cost=sum_costs((r.cost for r in reports if r.cost is not None), of="task(s)"),
    )


def exit_code(report: BatchReport) -> int:
    """0 every task succeeded; 4 some did (or some made part, or are still running); 2 every task was
    invalid (nothing was sent); 3 otherwise (what was sent failed at the service)."""
    t = report.totals
    if t.succeeded == t.tasks:
        return EXIT_OK
    if t.succeeded or t.partial or t.running or t.not_run:
        return EXIT_PARTIAL
    if t.invalid == t.tasks:
        return EXIT_INPUT
    return EXIT_SERVICE


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
        if r.text and _product(r.capability) == "text":
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


def build_report(
    reports: list[TaskReport], *, batch_file: Path, report_path: Path | None, started: float, interrupted: bool
) -> BatchReport:
    now = time.time()
    return BatchReport(
        file=str(batch_file),
        report=str(report_path) if report_path else None,
        started_at=iso_utc(started) or "",
        finished_at=iso_utc(now) or "",
        elapsed_seconds=round(now - started, 3),
        interrupted=interrupted,
        tasks=reports,
        totals=totals(reports),
    )
