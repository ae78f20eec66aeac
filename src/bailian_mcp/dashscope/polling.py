"""When to poll a task: at the moment it is expected to finish, learned from how long the model's tasks took.

DashScope reports each task's `submit_time`, `scheduled_time` (it started running) and
`end_time`. `DurationHistory` keeps, per model, how long recent tasks ran; `PollPlan` then
asks for the status once, at the expected end (from `scheduled_time` when the task is seen
RUNNING, else from the submission), and afterwards in short steps scaled to the model's
duration. Without history it falls back to a backoff schedule much like the official SDK's.
The outcome: fewer status polls than a fixed backoff, and the result noticed sooner.
"""

from __future__ import annotations

import statistics
import time
from collections import defaultdict, deque
from collections.abc import Iterator
from dataclasses import dataclass

from bailian_mcp.dashscope.protocol import parse_service_time

HISTORY_SIZE = 20
MIN_STEP = 0.05  # seconds: the shortest wait between two polls
MAX_STEP = 5.0


@dataclass(frozen=True)
class PollSchedule:
    """Fallback delays between polls when nothing is known: quick at first, settling at `max_delay`."""

    delays: tuple[float, ...] = (1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 4.0)
    max_delay: float = 5.0

    def __iter__(self) -> Iterator[float]:
        yield from self.delays
        while True:
            yield self.max_delay


def _epoch(service_time: object) -> float | None:
    moment = parse_service_time(service_time if isinstance(service_time, str) else None)
    return moment.timestamp() if moment else None


class DurationHistory:
    """Recent task durations per model: queue + run (submit→end) and run alone (scheduled→end)."""

    def __init__(self) -> None:
        self._total: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=HISTORY_SIZE))
        self._run: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=HISTORY_SIZE))

    def record(self, model: str, output: dict[str, object]) -> None:
        """Learn from a finished task's output (its service timestamps)."""
        submitted, scheduled, ended = (_epoch(output.get(key)) for key in ("submit_time", "scheduled_time", "end_time"))
        if submitted is not None and ended is not None and ended >= submitted:
            self._total[model].append(ended - submitted)
        if scheduled is not None and ended is not None and ended >= scheduled:
            self._run[model].append(ended - scheduled)

    def record_total(self, model: str, submitted: str | None, ended: str | None) -> None:
        """Learn from a stored result (it keeps only the submit and end times)."""
        self.record(model, {"submit_time": submitted, "end_time": ended})

    def expected_total(self, model: str) -> float | None:
        samples = self._total.get(model)
        return statistics.median(samples) if samples else None

    def expected_run(self, model: str) -> float | None:
        samples = self._run.get(model)
        return statistics.median(samples) if samples else None


class PollPlan:
    """The delays before each status poll of one task."""

    def __init__(
        self, history: DurationHistory | None, model: str, fallback: PollSchedule, submitted_at: float | None = None
    ) -> None:
        self._history = history
        self._model = model
        self._fallback = iter(fallback)
        self._submitted_at = submitted_at if submitted_at is not None else time.time()
        self._step: float | None = None

    def _expected_end(self, output: dict[str, object] | None) -> tuple[float, float] | None:
        """(expected end as epoch seconds, expected duration) from the history and what the task says."""
        if self._history is None:
            return None
        run = self._history.expected_run(self._model)
        scheduled = _epoch(output.get("scheduled_time")) if output else None
        if run is not None and scheduled is not None:
            return scheduled + run, run
        total = self._history.expected_total(self._model)
        if total is not None:
            submitted = (_epoch(output.get("submit_time")) if output else None) or self._submitted_at
            return submitted + total, total
        return None

    def next_delay(self, output: dict[str, object] | None) -> float:
        """Seconds to wait before the next poll, given the last status output read (None before the first)."""
        expected = self._expected_end(output)
        if expected is None:
            return next(self._fallback)
        end, duration = expected
        wait = end - time.time()
        if wait > MIN_STEP:
            return wait + MIN_STEP  # just after the expected end
        # Late: poll in steps that grow from a tenth of the usual duration, so a slow task is not hammered.
        self._step = min(MAX_STEP, max(MIN_STEP, duration / 10) if self._step is None else self._step * 1.5)
        return self._step
