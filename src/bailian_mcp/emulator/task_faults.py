"""How an outcome fault (see `faults`) reshapes a task's job, whatever service made it.

``fail`` wraps the job in `FailedJob` (FAILED ``InternalError.Algo``, as ``[emulator:fail]``);
``partial`` in `PartialJob` when it has two or more result images (its last one becomes an
``InternalError.Timeout`` item, as ``[emulator:partial]``), else in `FailedJob`. ``pending``
and ``expired_urls`` leave the job alone: the task store and the URL signer carry them out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from .tasks import ResultFile, Success, TaskFailure, TaskJob

EMULATED_FAILURE = TaskFailure("InternalError.Algo", "Inference error: emulated failure.")
TIMEOUT_ITEM = {
    "code": "InternalError.Timeout",
    "message": "An internal timeout error has occured during execution, "
    "please try again later or contact service support.",
}


@dataclass(frozen=True)
class FailedJob:
    """The job's task ends FAILED; it keeps the job's metrics."""

    job: TaskJob

    @property
    def metrics_total(self) -> int | None:
        return self.job.metrics_total

    @property
    def failure(self) -> TaskFailure:
        return EMULATED_FAILURE

    @property
    def files(self) -> Sequence[ResultFile]:
        return ()

    def success(self, urls: Sequence[str]) -> Success:
        raise AssertionError("a failed task has no success")


@dataclass(frozen=True)
class PartialJob:
    """The job's task succeeds without its last image, reported as a timed-out item."""

    job: TaskJob

    @property
    def metrics_total(self) -> int | None:
        return self.job.metrics_total

    @property
    def failure(self) -> TaskFailure | None:
        return self.job.failure

    @property
    def files(self) -> Sequence[ResultFile]:
        return tuple(self.job.files)[:-1]

    def success(self, urls: Sequence[str]) -> Success:
        done = self.job.success(urls)
        fields: dict[str, Any] = dict(done.fields)
        results = fields.get("results")
        if isinstance(results, list):
            fields["results"] = [*results, dict(TIMEOUT_ITEM)]
        return replace(done, fields=fields)


def with_outcome(job: TaskJob, outcome: str | None) -> TaskJob:
    """``job`` as the outcome fault ``outcome`` (``fail``, ``partial`` or another) makes it."""
    if outcome == "partial":
        files = tuple(job.files)
        if job.failure is None and len(files) >= 2 and all(f.media_type.startswith("image/") for f in files):
            return PartialJob(job)
        return FailedJob(job)
    if outcome == "fail":
        return FailedJob(job)
    return job
