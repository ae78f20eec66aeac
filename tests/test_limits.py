"""Client-side pacing: calls in one bucket are spaced evenly; buckets do not wait for each other.

These are behaviour checks with generous margins, not benchmarks.
"""

from __future__ import annotations

import time

import anyio

from bailian_mcp.catalog import MODELS
from bailian_mcp.config import Settings
from bailian_mcp.dashscope.limits import RateLimiter
from bailian_mcp.jobs.services import submit_limiter


async def timed(limiter: RateLimiter, buckets: list[str]) -> float:
    start = time.monotonic()
    for bucket in buckets:
        await limiter.acquire(bucket)
    return time.monotonic() - start


async def test_calls_in_one_bucket_are_spaced_by_one_over_the_rate() -> None:
    limiter = RateLimiter({"submit:m": 20})
    elapsed = await timed(limiter, ["submit:m"] * 5)
    assert elapsed >= 0.19  # the first call starts at once, the next four 50 ms apart
    assert elapsed < 1.0


async def test_the_first_call_in_a_bucket_does_not_wait() -> None:
    limiter = RateLimiter({"submit:m": 0.5})  # one call every 2 s
    assert await timed(limiter, ["submit:m"]) < 0.5


async def test_concurrent_callers_are_spaced_too() -> None:
    limiter = RateLimiter({"b": 20})
    started: list[float] = []

    async def call() -> None:
        await limiter.acquire("b")
        started.append(time.monotonic())

    begin = time.monotonic()
    async with anyio.create_task_group() as group:
        for _ in range(5):
            group.start_soon(call)
    started.sort()
    # the i-th caller starts no earlier than its slot, i/20 s after the first (a little clock slack allowed)
    for i, moment in enumerate(started):
        assert moment - begin >= i * 0.05 - 0.01


async def test_buckets_are_independent() -> None:
    limiter = RateLimiter({"a": 1, "b": 1, "c": 1})  # one call per second in each
    assert await timed(limiter, ["a", "b", "c"]) < 0.5  # sharing a bucket would take 2 s


async def test_a_busy_bucket_does_not_delay_another() -> None:
    limiter = RateLimiter({"slow": 1, "fast": 1})
    await limiter.acquire("slow")  # "slow" is now booked for the next second
    assert await timed(limiter, ["fast"]) < 0.5


async def test_rate_zero_is_unlimited() -> None:
    limiter = RateLimiter({"free": 0})
    assert await timed(limiter, ["free"] * 200) < 0.5


async def test_an_unknown_bucket_uses_the_default_rate_which_is_unlimited_unless_set() -> None:
    assert await timed(RateLimiter(), ["any"] * 100) < 0.5
    limiter = RateLimiter(default_rate=20)
    assert limiter.rate("other") == 20
    assert await timed(limiter, ["other"] * 3) >= 0.09


async def test_set_rate_changes_a_buckets_pace() -> None:
    limiter = RateLimiter({"b": 0})
    limiter.set_rate("b", 20)
    assert limiter.rate("b") == 20
    assert await timed(limiter, ["b"] * 3) >= 0.09


async def test_idle_time_is_not_banked_into_a_burst() -> None:
    limiter = RateLimiter({"b": 20})
    await limiter.acquire("b")
    await anyio.sleep(0.2)  # four slots' worth of idle time
    assert await timed(limiter, ["b"] * 3) >= 0.09


def test_bailian_image_rps_paces_every_image_model_and_nothing_else(settings: Settings) -> None:
    limiter = submit_limiter(settings.model_copy(update={"image_submit_rps": 7.0}))
    for model in MODELS:
        if model.capability in ("text_to_image", "edit_image", "wanx_edit_image"):
            assert limiter.rate(model.rate_bucket) == 7.0, model.name
        else:
            assert limiter.rate(model.rate_bucket) == model.rate.submit_rps, model.name


def test_without_bailian_image_rps_each_model_keeps_its_own_rate(settings: Settings) -> None:
    limiter = submit_limiter(settings)
    assert all(limiter.rate(model.rate_bucket) == model.rate.submit_rps for model in MODELS)
