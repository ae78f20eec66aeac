"""The typed result every face returns: one shape for every capability and for resuming a job.

It is what MCP tools publish as `structuredContent` (and their output schema), what
the CLI prints with `--json`, and what the batch report holds. It never carries file
bytes: files are referred to by URL and local path.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, Field

from bailian_mcp.errors import NextStep
from bailian_mcp.jobs.status import JobStatus


class ErrorInfo(BaseModel):
    code: str = Field(description="DashScope's error code, or this server's (e.g. DownloadFailed).")
    message: str


class Segment(BaseModel):
    """A timed piece of a transcript."""

    begin_ms: int
    end_ms: int
    text: str
    speaker_id: int | None = None


class OutputFile(BaseModel):
    """One generated file (image, video, audio, transcript), or the error that replaced it."""

    index: int = Field(description="Position in the task's results, from 0.")
    kind: Literal["image", "video", "audio", "transcript"]
    url: str | None = Field(None, description="DashScope's pre-signed URL; valid until url_expires_at.")
    url_expires_at: str | None = Field(None, description="When the URL stops working (ISO 8601, UTC).")
    path: str | None = Field(None, description="Where the file was saved on this machine.")
    mime_type: str | None = None
    bytes: int | None = None
    sha256: str | None = None
    width: int | None = None
    height: int | None = None
    duration_seconds: float | None = Field(None, description="Length of a video or audio output.")
    orig_prompt: str | None = None
    actual_prompt: str | None = Field(None, description="The prompt after DashScope's rewriting (prompt_extend).")
    source: str | None = Field(None, description="The input this output belongs to (transcripts: the audio file).")
    text: str | None = Field(None, description="Transcripts: the full text.")
    segments: list[Segment] | None = Field(None, description="Transcripts: timed sentences.")
    error: ErrorInfo | None = Field(None, description="Set when this one output failed (partial success).")


class Cost(BaseModel):
    amount: float
    currency: str
    basis: str = Field(description="How it was computed, e.g. '2 image × 0.14 CNY/image'.")


class JobResult(BaseModel):
    job_id: str = Field(description="This server's handle for the job: give it to resume the job.")
    task_id: str | None = Field(None, description="DashScope's task id (24 h); resuming takes it too.")
    task_ids: list[str] = Field(
        default_factory=list, description="The DashScope tasks of a job made of several (one per file), in order."
    )
    capability: str
    model: str
    status: JobStatus
    done: bool = Field(
        description="True when nothing more will happen; while false, resume the job (never generate it again)."
    )
    message: str = Field(description="What happened and what to do next.")
    next_step: NextStep | None = Field(None, description="What to do next, if anything: resume, list_tasks, ...")
    text: str | None = Field(None, description="Generated text (text_to_text) or the whole transcript.")
    finish_reason: str | None = Field(None, description="Text generation: stop, length, ...")
    outputs: list[OutputFile] = Field(default_factory=list)
    usage: dict[str, float] = Field(default_factory=dict)
    cost: Cost | None = Field(None, description="What it cost; for a dry run, what it would (none: known only after).")
    request: dict[str, Any] | None = Field(
        None, description="Dry runs: what would be sent (endpoint path and body; local files named, not read)."
    )
    error: ErrorInfo | None = None
    warnings: list[str] = Field(default_factory=list)
    submitted_at: str | None = Field(None, description="DashScope's submit_time (UTC+8, as the service reports).")
    finished_at: str | None = Field(None, description="DashScope's end_time (UTC+8).")

    @property
    def produced(self) -> bool:
        """Whether anything usable was made: text, or an output that did not fail."""
        return produced(self.text, self.outputs)

    @property
    def complete(self) -> bool:
        """Done, succeeded, and nothing in it failed."""
        return (
            self.done
            and self.status == "SUCCEEDED"
            and self.error is None
            and not any(o.error is not None for o in self.outputs)
        )


def produced(text: str | None, outputs: Iterable[OutputFile]) -> bool:
    """Whether a job made anything usable: text, or an output that did not fail (saved, or at a URL)."""
    return bool(text) or any(o.error is None and (o.path or o.url) for o in outputs)


def sum_costs(costs: Iterable[Cost], *, of: str) -> list[Cost]:
    """The total of `costs` per currency, each saying how many priced `of` (jobs, tasks) it adds up."""
    amounts: dict[str, float] = {}
    counts: dict[str, int] = {}
    for cost in costs:
        amounts[cost.currency] = amounts.get(cost.currency, 0.0) + cost.amount
        counts[cost.currency] = counts.get(cost.currency, 0) + 1
    return [
        Cost(amount=round(amount, 8), currency=currency, basis=f"{counts[currency]} priced {of}")
        for currency, amount in amounts.items()
    ]


def numbers(usage: Mapping[str, Any]) -> dict[str, float]:
    """The numeric entries of DashScope's `usage`, as floats (what a result keeps of it)."""
    return {k: float(v) for k, v in usage.items() if isinstance(v, int | float) and not isinstance(v, bool)}


def iso_utc(moment: float | None) -> str | None:
    """A Unix time as ISO 8601 in UTC (`2026-12-07T08:14:03.5Z`), None for None."""
    if moment is None:
        return None
    return datetime.fromtimestamp(moment, tz=UTC).isoformat().replace("+00:00", "Z")


class JobSummary(BaseModel):
    """One job of a job listing."""

    job_id: str
    task_id: str | None = None
    capability: str
    model: str
    status: JobStatus
    created_at: str = Field(description="When the job was recorded (ISO 8601, UTC).")
    finished_at: str | None = None
    outputs: int = Field(0, description="Files made (or expected, for an unfinished job).")
    cost: Cost | None = None
    error: ErrorInfo | None = None
    adopted: bool = Field(False, description="Created elsewhere with the same key and found on DashScope.")


class TodaysSpending(BaseModel):
    """What the jobs recorded today (UTC) by every process on the job store cost, against the daily budget."""

    since: str = Field(description="The start of the day (ISO 8601, UTC).")
    spent_cny: float = Field(description="What they cost, the jobs under way counted at their quotes.")
    under_way_cny: float = Field(description="Of that, the quotes of jobs not finished yet.")
    budget_cny: float | None = Field(None, description="BAILIAN_BUDGET_CNY, if set.")


class TaskList(BaseModel):
    jobs: list[JobSummary]
    total_cost: list[Cost] = Field(default_factory=list, description="The listed jobs' costs, per currency.")
    today: TodaysSpending | None = None
    adopted: int = Field(0, description="Tasks found on DashScope that this store did not know, now recorded.")
    message: str = ""
    next_step: NextStep | None = None
