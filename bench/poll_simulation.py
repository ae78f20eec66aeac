"""Polling strategies on a simulated clock: status polls per task and completion latency, for many tasks.

A companion of completion_latency.py (which measures the live client against the live SDK, a few dozen tasks):
here thousands of tasks run on a virtual clock in well under a second, so strategies can be compared on
identical duration draws. Three strategies:

* SDK — the wait loop of dashscope 2.0.2 (`BaseAsyncApi.wait`): polls at once, then every 1 s, doubling every
  third poll up to 5 s (polls at 0, 1, 2, 4, 6, 8, 12, 16, 20, 25, 30, … s);
* current — our `bailian_mcp.dashscope.polling.PollPlan` itself (its clock replaced by the simulated one),
  driven as `DashScopeClient.wait` drives it, with the history it learns from every finished task: for short
  tasks the ladder below; for longer ones nothing before the 20th percentile, then one poll every 0.6 × the
  SDK's own gap at that age or every half of the 10th-90th percentile spread, whichever is shorter;
* ladder — poll at the quantiles 50 %, 80 %, 95 % and 100 % of the model's learned task durations (submit →
  end), then in steps of max(0.25 s, 10 % of the median) growing 1.5× (at most 5 s); with no history yet, the
  SDK's schedule minus its immediate poll (shown for comparison: it polls least, but long tails make it late).

Each task's duration is D × a draw from the distribution (uniform ±20 %, as the live benchmark; or log-normal
σ = 0.35, a long tail); each poll costs a 5 ms round trip. The first task of each run is cold (no history).

    .venv/bin/python bench/poll_simulation.py [--tasks N]
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Iterator
from typing import Any

from _common import emit_json, parser, print_table

from bailian_mcp.dashscope import polling
from bailian_mcp.emulator.envelope import format_time

RTT = 0.005
MODEL = "wan2.2-t2i-flash"
EPOCH = 1_750_000_000.0
PENDING_SHARE = 0.25  # of the duration, at most 1 s, as in completion_latency.py


class SimClock:
    """Stands in for the `time` module inside `polling` (it only calls `time.time()`)."""

    def __init__(self) -> None:
        self.now = EPOCH

    def time(self) -> float:
        return self.now


CLOCK = SimClock()
setattr(polling, "time", CLOCK)  # noqa: B010 (the module attribute is not declared)


def status(submitted: float, duration: float, at: float) -> dict[str, Any]:
    """The task's `output` as `GET /tasks/{id}` shows it at `at`."""
    pending = min(1.0, duration * PENDING_SHARE)
    output: dict[str, Any] = {"task_status": "PENDING", "submit_time": format_time(submitted)}
    if at >= submitted + pending:
        output.update(task_status="RUNNING", scheduled_time=format_time(submitted + pending))
    if at >= submitted + duration:
        output.update(task_status="SUCCEEDED", end_time=format_time(submitted + duration))
    return output


def sdk_waits() -> Iterator[float]:
    """The sleeps of dashscope's `wait` between polls (its first poll is immediate)."""
    wait, step = 1.0, 0
    while True:
        step += 1
        if wait < 5 and step % 3 == 0:
            wait = min(wait * 2, 5.0)
        yield wait


class Sdk:
    def run(self, duration: float) -> tuple[int, float]:
        submitted = CLOCK.now
        waits = sdk_waits()
        polls = 0
        while True:
            CLOCK.now += RTT
            polls += 1
            if status(submitted, duration, CLOCK.now)["task_status"] == "SUCCEEDED":
                return polls, CLOCK.now - (submitted + duration)
            CLOCK.now += next(waits)


class Current:
    """`DashScopeClient.wait(..., poll_first=False, model=...)` around the real PollPlan and DurationHistory."""

    def __init__(self) -> None:
        self.history = polling.DurationHistory()

    def run(self, duration: float) -> tuple[int, float]:
        submitted = CLOCK.now
        plan = polling.PollPlan(self.history, MODEL, polling.PollSchedule())
        CLOCK.now += plan.next_delay(None)
        polls = 0
        while True:
            CLOCK.now += RTT
            polls += 1
            output = status(submitted, duration, CLOCK.now)
            if output["task_status"] == "SUCCEEDED":
                self.history.record(MODEL, output)
                return polls, CLOCK.now - (submitted + duration)
            CLOCK.now += plan.next_delay(output)


class Ladder:
    """The proposal: poll at learned quantiles of the duration, then in growing steps."""

    QUANTILES = (0.5, 0.8, 0.95, 1.0)

    def __init__(self, history_size: int = 50) -> None:
        self.samples: list[float] = []
        self.history_size = history_size

    def schedule(self) -> Iterator[float]:
        """Seconds after submission of each poll."""
        if not self.samples:
            moment = 0.0
            for wait in sdk_waits():
                moment += wait
                yield moment
        ordered = sorted(self.samples)
        last = 0.0
        for q in self.QUANTILES:
            moment = ordered[min(len(ordered) - 1, math.ceil(q * len(ordered)) - 1)]
            if moment > last + 0.05:
                last = moment
                yield moment
        step = max(0.25, 0.1 * statistics.median(ordered))
        while True:
            last += step
            yield last
            step = min(5.0, step * 1.5)

    def run(self, duration: float) -> tuple[int, float]:
        submitted = CLOCK.now
        for polls, moment in enumerate(self.schedule(), start=1):
            CLOCK.now = max(CLOCK.now, submitted + moment) + RTT
            if status(submitted, duration, CLOCK.now)["task_status"] == "SUCCEEDED":
                self.samples = [*self.samples, duration][-self.history_size :]
                return polls, CLOCK.now - (submitted + duration)
        raise AssertionError("unreachable")


DISTRIBUTIONS: dict[str, Callable[[random.Random], float]] = {
    "uniform ±20%": lambda draw: draw.uniform(0.8, 1.2),
    "log-normal σ=0.35": lambda draw: draw.lognormvariate(-(0.35**2) / 2, 0.35),
}


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--tasks", type=int, default=500, help="tasks per duration and distribution")
    args = cli.parse_args()
    tasks = 100 if args.quick else args.tasks
    figures: dict[str, Any] = {}
    rows = []
    for distribution, factor in DISTRIBUTIONS.items():
        for base in (2.0, 5.0, 12.0, 30.0):
            results = {}
            strategies = (("SDK", Sdk()), ("current", Current()), ("ladder", Ladder()))
            for name, strategy in strategies:
                draw = random.Random(f"{distribution}:{base}")
                polls, latencies = [], []
                for _ in range(tasks):
                    count, latency = strategy.run(base * factor(draw))
                    polls.append(count)
                    latencies.append(latency)
                    CLOCK.now += 1.0
                results[name] = {
                    "polls_per_task": round(statistics.fmean(polls), 2),
                    "mean_latency_ms": round(statistics.fmean(latencies) * 1000),
                    "median_latency_ms": round(statistics.median(latencies) * 1000),
                }
            sdk = results["SDK"]
            for name, result in results.items():
                result["poll_ratio"] = round(result["polls_per_task"] / sdk["polls_per_task"], 2)
                rows.append([distribution, f"{base:g}", name, *result.values()])
            figures[f"{distribution}:{base:g}"] = results
    verdicts: dict[str, dict[str, Any]] = {}
    for name in ("current", "ladder"):
        ratios = [f[name]["poll_ratio"] for f in figures.values()]
        slower = [
            key
            for key, f in figures.items()
            if f[name]["mean_latency_ms"] > f["SDK"]["mean_latency_ms"]
            or f[name]["median_latency_ms"] > f["SDK"]["median_latency_ms"]
        ]
        verdicts[name] = {"worst_poll_ratio": max(ratios), "latency_worse_than_sdk_in": slower}
    print_table(
        f"Simulated, {tasks} tasks per row (first one cold); latency = poll that saw it done − task end",
        ["durations", "D s", "strategy", "polls/task", "mean latency ms", "median latency ms", "polls vs SDK"],
        rows,
    )
    for name in ("current", "ladder"):
        summary = verdicts[name]
        print(
            f"{name}: worst poll ratio {summary['worst_poll_ratio']}× (target ≤ 0.6×); mean or median latency worse "
            f"than the SDK's in: {', '.join(summary['latency_worse_than_sdk_in']) or 'none'}"
        )
    emit_json("poll_simulation", {"tasks": tasks, "rtt_s": RTT, "results": figures, "verdicts": verdicts})


if __name__ == "__main__":
    main()
