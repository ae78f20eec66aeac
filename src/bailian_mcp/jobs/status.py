"""A job's status, and the sets of statuses every part of the package decides by.

    SUBMITTING ─POST answered─► PENDING/RUNNING ─► SUCCEEDED / FAILED / CANCELED / UNKNOWN   (TASK_FINAL)
        │
        ├─ the service refused it (nothing created) ─────────────► REJECTED
        └─ the POST may have reached the service, no reply ──────► SUBMIT_UNCERTAIN
A direct exchange (a stream, a WebSocket session) is recorded RUNNING as it starts, and ends the same ways.
"""

from __future__ import annotations

from typing import Literal, get_args

from bailian_mcp.dashscope.protocol import TASK_FINAL

JobStatus = Literal[
    "SUBMITTING",
    "SUBMIT_UNCERTAIN",
    "REJECTED",
    "PENDING",
    "RUNNING",
    "SUSPENDED",
    "SUCCEEDED",
    "FAILED",
    "CANCELED",
    "UNKNOWN",
    "DRY_RUN",  # a result only: a dry run, nothing sent or recorded
]
STATUSES: frozenset[str] = frozenset(get_args(JobStatus))

JOB_FINAL = TASK_FINAL | {"REJECTED"}  # nothing more will happen
IN_FLIGHT = frozenset({"SUBMITTING", "PENDING", "RUNNING"})  # a request or task under way
ERROR = frozenset({"FAILED", "UNKNOWN", "REJECTED", "SUBMIT_UNCERTAIN"})  # nothing (or nothing known) was made
NOTHING_MADE = frozenset({"REJECTED", "CANCELED"})  # nothing was made or charged: sending it again is safe
RETRYABLE = frozenset({"FAILED", "UNKNOWN", "SUBMIT_UNCERTAIN"})  # sent again only when asked (may pay twice)


def job_status(status: str) -> JobStatus:
    """`status` (DashScope's or the store's) as a JobStatus; one this package does not know is UNKNOWN."""
    return status if status in STATUSES else "UNKNOWN"  # type: ignore[return-value]


def may_send_again(status: str, *, retry_failed: bool) -> bool:
    """Whether a job that ended `status` is to be replaced by a new submission (the batch runner's resumption)."""
    return status in NOTHING_MADE or (retry_failed and status in RETRYABLE)
