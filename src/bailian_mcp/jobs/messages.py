"""What happened to a job, in words that hold for every face (where to turn next is `next_step`, worded by each)."""

from __future__ import annotations

from bailian_mcp.capabilities.base import Outcome
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.jobs.results import Cost, ErrorInfo, OutputFile

REJECTED = "DashScope refused this job when it was sent; nothing was created or charged."
NOT_SENT = "This request was not sent (see the error for why); nothing was created or charged."
NO_ANSWER = (
    "This job's request got no answer this server could record (a lost connection, or a restart while it was in "
    "flight), so DashScope may or may not have done it; it was not re-sent."
)


def dry_run(quote: Cost | None, unquoted: str) -> str:
    cost = f"It would cost {quote.amount:g} {quote.currency} ({quote.basis})" if quote else f"Price: {unquoted}"
    return f"Dry run: checked and priced, nothing sent or charged. {cost}."


def still_running(task_id: str, status: str, job_id: str) -> str:
    return f"Task {task_id} is {status}; it keeps running on DashScope as job {job_id} (do not generate again)."


def still_working(seconds: float, job_id: str) -> str:
    return (
        f"Still working after {seconds:g} s; the answer is stored when it arrives, as job {job_id} (do not send the "
        "request again)."
    )


def worked_on_elsewhere(job_id: str, who: str) -> str:
    return (
        f"Job {job_id} is being worked on by {who}; its result is recorded in the job store when it arrives (do not "
        "generate again: resume later)."
    )


def status_unreadable(exc: errors.DashScopeError, job_id: str) -> str:
    return f"Could not read the task's status ({exc}). The task is safe on DashScope and recorded here as job {job_id}."


def task_error(snapshot: TaskSnapshot) -> ErrorInfo:
    """The error of a task that ended without results."""
    if snapshot.status == "FAILED":
        return ErrorInfo(
            code=str(snapshot.output.get("code") or "Unknown"), message=str(snapshot.output.get("message") or "")
        )
    if snapshot.status == "CANCELED":
        return ErrorInfo(code="Canceled", message="The task was cancelled before it ran.")
    return ErrorInfo(
        code="TaskUnknown", message="DashScope does not know this task: it expired (24 h) or never existed."
    )


def ended(snapshot: TaskSnapshot) -> str:
    """Why a task ended without results: failed, cancelled, or unknown to DashScope."""
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


def succeeded(outputs: list[OutputFile]) -> str:
    """What a finished job made and saved, and what failed of it."""
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


def exchanged(outputs: list[OutputFile], outcome: Outcome) -> str:
    """What a direct exchange made: files, an answer, or a part of one when it stopped early."""
    if outcome.error is not None:
        return (
            f"DashScope stopped part-way with {outcome.error.code}: {outcome.error.message}. What arrived before "
            "that is kept in this result."
        )
    if outputs:
        return succeeded(outputs)
    if outcome.finish_reason == "length":
        return "Stopped at max_tokens (finish_reason length): raise max_tokens for a longer answer."
    return f"Done ({outcome.finish_reason or 'stop'})."


def joined_text(outputs: list[OutputFile]) -> str | None:
    """The texts of the outputs (transcripts), one per line."""
    texts = [o.text for o in outputs if o.text]
    return "\n".join(texts) if texts else None
