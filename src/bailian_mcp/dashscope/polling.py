"""When to poll a task: timed from how long the model's recent tasks took.

DashScope reports each task's `submit_time` and `end_time`; `DurationHistory` keeps, per
model, the recent durations. `PollPlan` then schedules the polls of a new task, as moments
after its submission:
  * no history yet: a backoff much like the official SDK's (`PollSchedule`);
  * short tasks (median under 3 s): at the 50th, 80th, 95th and 100th percentiles of the learned
    durations, then in steps growing from a tenth of the median;
  * longer tasks: nothing before the 20th percentile (where a fixed backoff spends most of its
    polls), then every 0.6 × the SDK's own gap at that age, or every half of the spread between
    the 10th and 90th percentiles if that is shorter (once five durations are known; never closer
    than a quarter of the SDK's gap) — so the expected wait after the task ends stays well below the
    SDK's whatever the spread of durations, for half its polls or fewer.
`bench/poll_simulation.py` compares the rules on a simulated clock, `bench/completion_latency.py`
against the SDK live.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping
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


QUANTILES = (0.5, 0.8, 0.95, 1.0)
SHORT_TASK = 3.0  # seconds: below this median, the quantile ladder
FIRST_QUANTILE = 0.2
GAP_FACTOR = 0.6
SPREAD_STEPS = 2  # polls across the 10th-90th percentile spread, at most
SPREAD_SAMPLES = 5  # durations needed before their spread is trusted
MIN_GAP_FACTOR = 0.25  # never closer than this × the SDK's gap


def _sdk_gap(age: float) -> float:
    """The official SDK's gap between polls around `age` seconds after submission."""
    return 1.0 if age < 2 else 2.0 if age < 8 else 4.0 if age < 20 else 5.0


def _quantile(ordered: list[float], q: float) -> float:
    return ordered[max(0, min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1))]


class DurationHistory:
    """Recent submit-to-end durations of each model's tasks."""

    def __init__(self) -> None:
        self._durations: dict[str, deque[float]] = defaultdict(lambda: deque(maxlen=HISTORY_SIZE))

    def record(self, model: str, output: Mapping[str, object]) -> None:
        """Learn from a finished task's output (its service timestamps)."""
        submitted, ended = _epoch(output.get("submit_time")), _epoch(output.get("end_time"))
        if submitted is not None and ended is not None and ended >= submitted:
            self._durations[model].append(ended - submitted)

    def durations(self, model: str) -> list[float]:
        """The recent durations of `model`'s tasks, shortest first."""
        return sorted(self._durations.get(model, ()))


class PollPlan:
    """The moments (after submission) at which one task's status is read."""

    def __init__(
        self, history: DurationHistory | None, model: str, fallback: PollSchedule, submitted_at: float | None = None
    ) -> None:
        self._submitted_at = submitted_at if submitted_at is not None else time.time()
        durations = history.durations(model) if history is not None else []
        self._moments = self._schedule(durations, fallback)

    @staticmethod
    def _schedule(durations: list[float], fallback: PollSchedule) -> Iterator[float]:
        if not durations:
            moment = 0.0
            for delay in fallback:
                moment += delay
                yield moment
        middle = len(durations) // 2  # the median (not `statistics`, whose import costs 2 ms at start-up)
        median = durations[middle] if len(durations) % 2 else (durations[middle - 1] + durations[middle]) / 2
        if median < SHORT_TASK:
            last = 0.0
            for q in QUANTILES:
                moment = _quantile(durations, q)
                if moment > last + MIN_STEP:
                    last = moment
                    yield moment
            step = max(0.25, median / 10)
            while True:
                last += step
                yield last
                step = min(MAX_STEP, step * 1.5)
        spread_step = math.inf
        if len(durations) >= SPREAD_SAMPLES:
            spread_step = (_quantile(durations, 0.9) - _quantile(durations, 0.1)) / SPREAD_STEPS
        moment = _quantile(durations, FIRST_QUANTILE)
        while True:
            yield moment
            gap = _sdk_gap(moment)
            moment += max(0.25, MIN_GAP_FACTOR * gap, min(GAP_FACTOR * gap, spread_step))

    def next_delay(self, output: dict[str, object] | None = None) -> float:
        """Seconds to wait before the next poll (`output`, the last status read, is not needed by this rule)."""
        return max(0.0, self._submitted_at + next(self._moments) - time.time())
