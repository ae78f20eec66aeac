"""How a face words what the core returns as data: the next step a result or an error points to, and how waiting
works. The core says `next_step="resume"`; the MCP face says "call get_task", the command line
"bailian-mcp task get"."""

from __future__ import annotations

from dataclasses import dataclass

from bailian_mcp.errors import BailianError, NextStep
from bailian_mcp.jobs.results import JobResult, TaskList


@dataclass(frozen=True)
class Wording:
    """One face's words. `resume` may use `{job_id}`; `resume_any` is said where no single job is meant."""

    resume: str
    resume_any: str
    list_tasks: str
    list_models: str
    waiting: str  # how a call waits and how a job that outlives the wait is continued (the capability help)
    confirm: str  # how a call the user must confirm is made again, confirmed

    def step(self, step: NextStep | None, job_id: str | None = None) -> str:
        """The sentence that tells the caller to take `step` ("" for none)."""
        if step is None:
            return ""
        if step == "resume":
            return self.resume.format(job_id=job_id) if job_id else self.resume_any
        return {"list_tasks": self.list_tasks, "list_models": self.list_models, "confirm": self.confirm}[step]

    def result(self, result: JobResult) -> JobResult:
        """`result` with its next step worded at the end of its message."""
        message = _joined(result.message, self.step(result.next_step, result.job_id))
        return result.model_copy(update={"message": message})

    def listing(self, listing: TaskList) -> TaskList:
        return listing.model_copy(update={"message": _joined(listing.message, self.step(listing.next_step))})

    def error(self, exc: BaseException) -> str:
        """The text of an error, with its next step worded."""
        step = exc.next_step if isinstance(exc, BailianError) else None
        return _joined(str(exc), self.step(step))


def _joined(text: str, sentence: str) -> str:
    return f"{text} {sentence}".strip() if sentence else text
