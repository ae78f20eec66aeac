"""Completion latency (task finished → result returned to the caller) and status polls per task: our client
versus the official `dashscope` SDK's own wait loop (`ImageSynthesis.async_call` + `ImageSynthesis.wait`).

For each task duration D there is one emulator whose text-to-image tasks take d seconds (PENDING for min(1, d/4) s,
then RUNNING), with no throttling or queueing; d is D jittered by up to ±`--jitter` (default 20 %, seeded) anew
each round, the same for every caller of that round — real durations vary, and a fixed D would land exactly on
the SDK's whole-second poll grid (0, 1, 2, 4, 6, 8, 12, … s) and reward it for luck. In every round, on each of
those emulators and at the same moment, three callers each make one 1024*1024 wan2.2-t2i-flash image:

* SDK — `ImageSynthesis.async_call` then `ImageSynthesis.wait` (dashscope 2.0.2, on a worker thread; it is
  pointed at its emulator with `base_address=`, the per-call form of `dashscope.base_http_api_url`, because the
  durations run side by side); it returns the result URLs;
* Runner (url) — our `Runner.run` with BAILIAN_RESULT_MODE=url, which also returns the URLs: the like-for-like
  comparison;
* MCP tool — the `text_to_image` tool through an in-memory MCP client with the default result mode (download,
  save, preview): what an agent gets.

"Finished" is the emulator task's own end instant (its task store); a caller's latency is from then until its
call returned. Polls are the task's `GET /tasks/{id}` requests in the emulator's request log. Round 1 is cold
(our client has no duration history); later rounds are warm (it learned from round 1, as it learns from its job
store at start-up).

Each lane (duration) runs its rounds on its own, all lanes side by side, for about `--budget` seconds (so short
tasks get many more rounds than 30-s ones), at least `--min-rounds`.

Targets: latency no worse than the SDK's, with at most 0.6× its polls.

    .venv/bin/python bench/completion_latency.py [--quick] [--budget S] [--durations 2,5,12,30] [--jitter 0.2]
"""

from __future__ import annotations

import dataclasses
import math
import random
import statistics
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread
import dashscope
from _common import (
    API_KEY,
    UNLIMITED,
    BenchEmulator,
    emit_json,
    log,
    make_settings,
    median,
    ms,
    parser,
    percentile,
    print_table,
    running_emulator,
    temp_dir,
    verdict,
)
from dashscope import ImageSynthesis
from mcp import Client

from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE, TextToImageParams
from bailian_mcp.jobs.services import Services, open_services
from bailian_mcp.server import build_server

MODEL = "wan2.2-t2i-flash"
SIZE = "1024*1024"
TARGET_POLL_RATIO = 0.6
VARIANTS = ("SDK", "Runner (url)", "MCP tool")


@dataclass
class Sample:
    variant: str
    duration: float
    actual: float  # this round's jittered duration (s)
    round: int
    task_id: str
    latency: float  # returned − task end (s)
    polls: int
    detected: float  # first poll after the end − the end (s)
    poll_offsets: list[float]  # each poll's time relative to the task's end (s)


@dataclass
class Lane:
    """One task duration: its emulator and our two callers on it."""

    duration: float
    emulator: BenchEmulator
    services: Services
    mcp: Client


async def sdk_call(emulator: BenchEmulator, prompt: str) -> tuple[str, float]:
    def call() -> tuple[str, float]:
        submitted = ImageSynthesis.async_call(
            model=MODEL, prompt=prompt, api_key=API_KEY, n=1, size=SIZE, base_address=emulator.base_url
        )
        if submitted.status_code != 200:
            raise RuntimeError(f"SDK submit failed: {submitted}")
        finished = ImageSynthesis.wait(submitted, api_key=API_KEY, base_address=emulator.base_url)
        returned = time.monotonic()
        if finished.output.task_status != "SUCCEEDED":
            raise RuntimeError(f"SDK task ended {finished.output.task_status}")
        return str(submitted.output.task_id), returned

    return await anyio.to_thread.run_sync(call)


async def runner_call(services: Services, prompt: str) -> tuple[str, float]:
    result = await services.runner.run(
        TEXT_TO_IMAGE, TextToImageParams(prompt=prompt, size=SIZE, n=1), wait_seconds=300
    )
    returned = time.monotonic()
    if result.status != "SUCCEEDED" or not result.task_id:
        raise RuntimeError(f"Runner: {result.status} {result.message}")
    return result.task_id, returned


async def mcp_call(client: Client, prompt: str) -> tuple[str, float]:
    result = await client.call_tool("text_to_image", {"prompt": prompt, "size": SIZE, "wait_seconds": 300})
    returned = time.monotonic()
    data = result.structured_content or {}
    if result.is_error or data.get("status") != "SUCCEEDED":
        raise RuntimeError(f"MCP tool: {result.content}")
    return str(data["task_id"]), returned


def set_duration(emulator: BenchEmulator, seconds: float) -> None:
    """Make the emulator's next tasks take `seconds` (bench-only: swaps its task store's frozen config between
    rounds, when no task is in flight)."""
    store = emulator.state.tasks
    pending = min(1.0, seconds / 4)
    store._config = dataclasses.replace(store._config, pending_seconds=pending, running_seconds=seconds - pending)


def sample(lane: Lane, variant: str, round_no: int, task_id: str, returned: float) -> Sample:
    state = lane.emulator.state
    task = state.tasks.get(task_id, state.now())
    if task is None or task.ends_at is None:
        raise RuntimeError(f"the emulator has no end time for task {task_id}")
    end_epoch = state.epoch(task.ends_at)
    polls = [
        entry["time"] - end_epoch
        for entry in state.requests
        if entry["method"] == "GET" and entry["path"].endswith(f"/tasks/{task_id}")
    ]
    after = [offset for offset in polls if offset >= 0]
    return Sample(
        variant=variant,
        duration=lane.duration,
        actual=task.ends_at - task.submitted_at,
        round=round_no,
        task_id=task_id,
        latency=returned - task.ends_at,
        polls=len(polls),
        detected=min(after) if after else float("nan"),
        poll_offsets=[round(offset, 3) for offset in polls],
    )


@asynccontextmanager
async def lanes(durations: list[float]) -> AsyncIterator[list[Lane]]:
    async with AsyncExitStack() as stack:
        made = []
        tmp = stack.enter_context(temp_dir("latency"))
        for duration in durations:
            pending = min(1.0, duration / 4)
            emulator = stack.enter_context(
                running_emulator(pending_seconds=pending, running_seconds=duration - pending, **UNLIMITED)
            )
            folder = tmp / f"d{duration:g}"
            services = await stack.enter_async_context(
                open_services(make_settings(folder / "runner", emulator.base_url, result_mode="url"))
            )
            client = await stack.enter_async_context(
                Client(build_server(make_settings(folder / "mcp", emulator.base_url)))
            )
            made.append(Lane(duration, emulator, services, client))
        dashscope.base_http_api_url = made[0].emulator.base_url
        yield made


def rounds_for(duration: float, budget: float, jitter: float, minimum: int) -> int:
    """How many rounds a lane runs so that every lane ends within about `budget` seconds."""
    return max(minimum, int(budget // (duration * (1 + jitter) + 0.5)))


async def run_lane(lane: Lane, rounds: int, jitter: float, seed: int, samples: list[Sample]) -> None:
    draw = random.Random(f"{seed}:{lane.duration}")
    for round_no in range(rounds):
        set_duration(lane.emulator, lane.duration * (1 + draw.uniform(-jitter, jitter)))

        async def one(variant: str, round_no: int = round_no) -> None:
            prompt = f"a lighthouse at dusk, {variant}, round {round_no}"
            if variant == "SDK":
                task_id, returned = await sdk_call(lane.emulator, prompt)
            elif variant == "Runner (url)":
                task_id, returned = await runner_call(lane.services, prompt)
            else:
                task_id, returned = await mcp_call(lane.mcp, prompt)
            samples.append(sample(lane, variant, round_no, task_id, returned))

        async with anyio.create_task_group() as group:
            for variant in VARIANTS:
                group.start_soon(one, variant)
    log(f"D = {lane.duration:g} s: {rounds} rounds done")


async def run(durations: list[float], budget: float, jitter: float, seed: int, minimum: int) -> list[Sample]:
    samples: list[Sample] = []
    async with lanes(durations) as all_lanes, anyio.create_task_group() as group:
        for lane in all_lanes:
            group.start_soon(run_lane, lane, rounds_for(lane.duration, budget, jitter, minimum), jitter, seed, samples)
    return samples


def pick(samples: list[Sample], **match: Any) -> list[Sample]:
    return [s for s in samples if all(getattr(s, key) == value for key, value in match.items())]


def per_task_polls(samples: list[Sample]) -> float:
    return sum(s.polls for s in samples) / len(samples) if samples else math.nan


def main() -> None:
    cli = parser(__doc__ or "")
    cli.add_argument("--budget", type=float, default=None, help="seconds each lane runs rounds for (150; --quick 24)")
    cli.add_argument(
        "--min-rounds", type=int, default=None, help="rounds per lane at least (1 cold + warm ones; 8, --quick 4)"
    )
    cli.add_argument("--durations", default=None, help="task durations in seconds (default 2,5,12,30; --quick 2,5)")
    cli.add_argument("--jitter", type=float, default=0.2, help="each round's duration is D × (1 ± jitter)")
    cli.add_argument("--seed", type=int, default=6, help="seed of the duration jitter")
    args = cli.parse_args()
    durations = [float(d) for d in (args.durations or ("2,5" if args.quick else "2,5,12,30")).split(",")]
    budget = args.budget or (24.0 if args.quick else 150.0)
    plan = {d: rounds_for(d, budget, args.jitter, (args.min_rounds or (4 if args.quick else 8))) for d in durations}
    log(f"durations ± {args.jitter:.0%}, rounds: {plan}; {len(VARIANTS)} callers per round")
    samples = anyio.run(run, durations, budget, args.jitter, args.seed, (args.min_rounds or (4 if args.quick else 8)))

    rows = []
    per_duration: dict[str, dict[str, Any]] = {}
    for duration in durations:
        for variant in VARIANTS:
            mine = pick(samples, duration=duration, variant=variant)
            cold = pick(mine, round=0)[0]
            warm = [s for s in mine if s.round > 0]
            latencies = [s.latency for s in mine]
            figures = {
                "tasks": len(mine),
                "cold_latency_ms": ms(cold.latency),
                "cold_polls": cold.polls,
                "median_latency_ms": ms(median(latencies)),
                "mean_latency_ms": ms(statistics.fmean(latencies)),
                "p90_latency_ms": ms(percentile(latencies, 90)),
                "polls_per_task": round(per_task_polls(mine), 2),
                "warm_polls_per_task": round(per_task_polls(warm), 2),
                "seen_after_end_ms": ms(median([s.detected for s in mine])),
            }
            per_duration[f"{duration:g}:{variant}"] = figures
            rows.append([f"{duration:g}", variant, *figures.values()])
    print_table(
        "Per task duration D (±jitter): latency = returned − task end (ms); polls = GET /tasks/{id} per task",
        [
            "D s",
            "caller",
            "tasks",
            "cold lat.",
            "cold polls",
            "median lat.",
            "mean lat.",
            "p90 lat.",
            "polls/task",
            "warm polls/task",
            "end→seen",
        ],
        rows,
    )

    verdicts: dict[str, Any] = {}
    summary_rows = []
    sdk_polls = sum(per_task_polls(pick(samples, duration=d, variant="SDK")) for d in durations)
    for variant in ("Runner (url)", "MCP tool"):
        ours_polls = sum(per_task_polls(pick(samples, duration=d, variant=variant)) for d in durations)
        poll_ratio = ours_polls / sdk_polls
        worse = [
            f"{d:g}"
            for d in durations
            if per_duration[f"{d:g}:{variant}"]["median_latency_ms"]
            > per_duration[f"{d:g}:SDK"]["median_latency_ms"] + 10
        ]
        met = not worse and poll_ratio <= TARGET_POLL_RATIO
        verdicts[variant] = {
            "poll_ratio": round(poll_ratio, 2),
            "poll_ratio_by_duration": {
                f"{d:g}": round(
                    per_task_polls(pick(samples, duration=d, variant=variant))
                    / per_task_polls(pick(samples, duration=d, variant="SDK")),
                    2,
                )
                for d in durations
            },
            "median_latency_worse_at_durations": worse,
            "target_met": met,
        }
        summary_rows.append(
            [
                variant,
                f"{poll_ratio:.2f}×",
                " ".join(f"{d}:{r}×" for d, r in verdicts[variant]["poll_ratio_by_duration"].items()),
                ", ".join(worse) or "none",
                verdict(met),
            ]
        )
    print_table(
        f"Against the SDK (polls: per-task means summed over durations; target ≤ {TARGET_POLL_RATIO}× the polls "
        "and a median latency no worse (+10 ms) at every duration)",
        ["caller", "poll ratio", "poll ratio by D", "D where median latency is worse", "target"],
        summary_rows,
    )
    emit_json(
        "completion_latency",
        {
            "durations_s": durations,
            "jitter": args.jitter,
            "rounds": {f"{d:g}": r for d, r in plan.items()},
            "per_duration": per_duration,
            "verdicts": verdicts,
            "per_task": [
                {
                    "variant": s.variant,
                    "duration": s.duration,
                    "round": s.round,
                    "actual_duration_s": round(s.actual, 3),
                    "latency_ms": ms(s.latency),
                    "polls": s.polls,
                    "poll_offsets_s": s.poll_offsets,
                }
                for s in sorted(samples, key=lambda s: (s.duration, s.variant, s.round))
            ],
        },
    )


if __name__ == "__main__":
    main()
