"""Poll timing: learned per model from task durations; the SDK-like backoff when nothing is known."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from bailian_mcp.dashscope.polling import DurationHistory, PollPlan, PollSchedule
from bailian_mcp.dashscope.protocol import SERVICE_TZ


def service_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=SERVICE_TZ).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def history_of(*durations: float) -> DurationHistory:
    history = DurationHistory()
    for duration in durations:
        history.record("m", {"submit_time": service_time(1000.0), "end_time": service_time(1000.0 + duration)})
    return history


def moments(plan: PollPlan, count: int, submitted: float) -> list[float]:
    """The poll moments as seconds after submission (the plan is read without sleeping)."""
    return [round(time.time() + plan.next_delay() - submitted, 2) for _ in range(count)]


def test_without_history_the_fallback_backoff_is_used() -> None:
    now = time.time()
    plan = PollPlan(DurationHistory(), "m", PollSchedule(delays=(1.0, 2.0), max_delay=4.0), submitted_at=now)
    assert moments(plan, 4, now) == pytest.approx([1.0, 3.0, 7.0, 11.0], abs=0.05)


def test_history_keeps_recent_durations_per_model_and_ignores_broken_times() -> None:
    history = history_of(8.0, 10.0, 30.0)
    history.record("m", {"submit_time": "garbage", "end_time": None})
    assert history.durations("m") == pytest.approx([8.0, 10.0, 30.0], abs=0.01)
    assert history.durations("other") == []


def test_short_tasks_are_polled_at_the_quantiles_of_their_durations() -> None:
    now = time.time()
    plan = PollPlan(history_of(1.0, 1.2, 1.4, 2.0), "m", PollSchedule(), submitted_at=now)
    first = moments(plan, 5, now)
    assert first[:2] == pytest.approx([1.2, 2.0], abs=0.05)  # the 50th, then the 80th (= 95th = 100th) percentile
    assert first[2] == pytest.approx(2.25, abs=0.05) and first == sorted(first)  # then steps of 0.25 s and up


def test_long_tasks_wait_until_the_twentieth_percentile_then_poll_faster_than_the_sdk() -> None:
    now = time.time()
    durations = [20.0 + 2 * i for i in range(10)]  # 20 ... 38 s: a spread (10th to 90th percentile) of 16 s
    plan = PollPlan(history_of(*durations), "m", PollSchedule(), submitted_at=now)
    first, second, third = moments(plan, 3, now)
    assert first == pytest.approx(22.0, abs=0.05)  # the 20th percentile
    assert second - first == pytest.approx(0.6 * 5.0, abs=0.05)  # 0.6 × the SDK's 5-s gap at that age
    assert third - second == pytest.approx(3.0, abs=0.05)


def test_tightly_spread_durations_are_polled_across_their_spread() -> None:
    now = time.time()
    durations = [5.0 + 0.2 * i for i in range(10)]  # 5.0 ... 6.8 s: a spread of 1.6 s (the SDK's gap there: 2 s)
    plan = PollPlan(history_of(*durations), "m", PollSchedule(), submitted_at=now)
    first, second, third = moments(plan, 3, now)
    assert first == pytest.approx(5.2, abs=0.05)
    assert second - first == pytest.approx(0.8, abs=0.05) and third - second == pytest.approx(0.8, abs=0.05)


def test_a_plan_made_after_submission_never_asks_for_a_negative_wait() -> None:
    plan = PollPlan(history_of(1.0), "m", PollSchedule(), submitted_at=time.time() - 100)
    assert plan.next_delay() == 0.0


def test_too_few_durations_to_know_their_spread_are_polled_at_the_sdk_relative_gap() -> None:
    now = time.time()
    plan = PollPlan(history_of(24.0), "m", PollSchedule(), submitted_at=now)  # one duration: no spread yet
    first, second, third = moments(plan, 3, now)
    assert first == pytest.approx(24.0, abs=0.05)
    assert second - first == pytest.approx(3.0, abs=0.05) and third - second == pytest.approx(3.0, abs=0.05)


def test_identical_durations_are_never_polled_closer_than_a_quarter_of_the_sdk_gap() -> None:
    now = time.time()
    plan = PollPlan(history_of(*[24.0] * 10), "m", PollSchedule(), submitted_at=now)
    first, second = moments(plan, 2, now)
    assert second - first == pytest.approx(0.25 * 5.0, abs=0.05)
