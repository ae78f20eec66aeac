"""Async tasks: the store, their lifecycle and the per-(key, model) concurrency queue.

A task's state is never advanced by a timer. Each task records monotonic
instants (submitted, running from, ends at) and its status at any moment is
read off them (protocol §2.2)::

    PENDING ──(holds a slot, pending_seconds)──► RUNNING ──(running_seconds)──► SUCCEEDED | FAILED
       └──(cancel)──► CANCELED

A task gets a slot when fewer than ``max_concurrent_tasks`` tasks of the same
(key, model) hold one; slots are handed out in submission order. Slot
assignments are settled lazily, up to "now", whenever the store is touched, so
a cancel can still free a slot that a later task would otherwise wait for.

What a task produces is not known here: each service supplies a `TaskJob`
(its validated request) that names its result files, its failure if any, and
the service-specific output fields.
"""

from __future__ import annotations

import uuid
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from .config import EmulatorConfig

TaskStatus = Literal["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"]


@dataclass(frozen=True)
class ResultFile:
    """One downloadable result; ``render`` makes its bytes on demand."""

    name: str
    media_type: str
    render: Callable[[], bytes]


@dataclass(frozen=True)
class TaskFailure:
    """Why a whole task ends FAILED (reported as ``output.code`` / ``output.message``)."""

    code: str
    message: str


@dataclass(frozen=True)
class Success:
    """The service-specific part of a SUCCEEDED task's answer."""

    fields: dict[str, Any]
    """Merged into ``output`` after the timestamps (e.g. ``results``)."""
    usage: dict[str, Any] | None
    succeeded: int
    """Items that succeeded, for ``task_metrics``."""
    metrics: bool = True
    """Whether the SUCCEEDED answer still carries ``task_metrics`` (some services drop them at the end)."""


class TaskJob(Protocol):
    """A validated request of some async service: what its task will produce."""

    @property
    def metrics_total(self) -> int | None:
        """``task_metrics.TOTAL``; ``None`` for services that report no metrics."""

    @property
    def failure(self) -> TaskFailure | None:
        """Set when the task is going to end FAILED."""

    @property
    def files(self) -> Sequence[ResultFile]:
        """Result files served once the task succeeded."""

    def success(self, urls: Sequence[str]) -> Success:
        """The output of the SUCCEEDED task, given the signed URL of each file."""


@dataclass(frozen=True)
class Progress:
    """Where a task is at some moment (monotonic instants)."""

    status: TaskStatus
    scheduled_at: float | None
    """When it started RUNNING, once it has."""
    ended_at: float | None
    """When it ended or was canceled, once it has."""


@dataclass(eq=False)
class Task:
    """One submitted task; its instants are monotonic seconds, set as the store schedules it."""

    task_id: str
    model: str
    service: str
    """The endpoint below ``/services/``, e.g. ``aigc/text2image/image-synthesis``."""
    job: TaskJob
    api_key: str = field(repr=False)
    request_id: str
    submitted_at: float
    running_at: float | None = None
    ends_at: float | None = None
    """End of the run, or the moment a cancel freed the task's slot."""
    canceled_at: float | None = None

    def progress(self, now: float) -> Progress:
        """The task's state at ``now``; only valid once its store has settled up to ``now``
        (any `TaskStore` call with that ``now`` does)."""
        if self.canceled_at is not None:
            return Progress("CANCELED", None, self.canceled_at)
        if self.running_at is None or self.ends_at is None or now < self.running_at:
            return Progress("PENDING", None, None)
        if now < self.ends_at:
            return Progress("RUNNING", self.running_at, None)
        return Progress("FAILED" if self.job.failure else "SUCCEEDED", self.running_at, self.ends_at)


@dataclass
class _Lane:
    """The tasks of one (api key, model): those waiting for a slot and those holding one."""

    queue: deque[Task] = field(default_factory=deque)
    holders: list[Task] = field(default_factory=list)
    last_slot_at: float = float("-inf")


class TaskStore:
    """Every live task, by id, in submission order. Methods take the current monotonic time."""

    def __init__(self, config: EmulatorConfig) -> None:
        self._config = config
        self._tasks: dict[str, Task] = {}
        self._lanes: dict[tuple[str, str], _Lane] = {}

    def submit(
        self, *, model: str, service: str, job: TaskJob, api_key: str, request_id: str, now: float, stuck: bool = False
    ) -> Task:
        """Queue a new task; a ``stuck`` one is never scheduled (it stays PENDING, holding no slot)."""
        self._settle(now)
        task = Task(str(uuid.uuid4()), model, service, job, api_key, request_id, now)
        self._tasks[task.task_id] = task
        lane = self._lanes.setdefault((api_key, model), _Lane())
        if not stuck:
            lane.queue.append(task)
        self._admit(lane, now)
        return task

    def get(self, task_id: str, now: float) -> Task | None:
        """The task, or ``None`` when unknown or past ``task_ttl_seconds``."""
        self._settle(now)
        return self._tasks.get(task_id)

    def cancel(self, task_id: str, now: float) -> bool:
        """Cancel a PENDING task; False when it is unknown or no longer PENDING."""
        task = self.get(task_id, now)
        if task is None or task.progress(now).status != "PENDING":
            return False
        task.canceled_at = now
        lane = self._lanes.get((task.api_key, task.model))
        if lane is None:  # a stuck task, alone in its lane: it holds nothing
            return True
        if task in lane.queue:
            lane.queue.remove(task)
        else:
            task.ends_at = now
        self._admit(lane, now)
        return True

    def tasks(self, now: float) -> Iterator[Task]:
        """Live tasks, newest first."""
        self._settle(now)
        return reversed(list(self._tasks.values()))

    def _settle(self, now: float) -> None:
        for lane in self._lanes.values():
            self._admit(lane, now)
        ttl = self._config.task_ttl_seconds
        while self._tasks:
            oldest = next(iter(self._tasks.values()))
            if now - oldest.submitted_at < ttl:
                break
            del self._tasks[oldest.task_id]
            queued = self._lanes.get((oldest.api_key, oldest.model))
            if queued is not None and oldest in queued.queue:
                queued.queue.remove(oldest)
        self._lanes = {key: lane for key, lane in self._lanes.items() if lane.queue or lane.holders}

    def _admit(self, lane: _Lane, now: float) -> None:
        """Give queued tasks the slots that free up by ``now``, in submission order."""
        limit = self._config.max_concurrent_tasks
        while lane.queue:
            head = lane.queue[0]
            slot_at = max(head.submitted_at, lane.last_slot_at)
            if limit:
                busy_until = sorted(t.ends_at for t in lane.holders if t.ends_at is not None and t.ends_at > slot_at)
                if len(busy_until) >= limit:
                    slot_at = busy_until[len(busy_until) - limit]
            if slot_at > now:
                break
            lane.queue.popleft()
            head.running_at = slot_at + self._config.pending_seconds
            head.ends_at = head.running_at + self._config.running_seconds
            lane.holders.append(head)
            lane.last_slot_at = slot_at
        lane.holders = [t for t in lane.holders if t.ends_at is not None and t.ends_at > now]
