"""Poll timing: at the expected end of a task, learned per model; a backoff when nothing is known."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from bailian_mcp.dashscope.polling import MIN_STEP, DurationHistory, PollPlan, PollSchedule
from bailian_mcp.dashscope.protocol import SERVICE_TZ


def service_time(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, tz=SERVICE_TZ).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


def finished(submitted: float, scheduled: float, ended: float) -> dict[str, object]:
    return {
        "submit_time": service_time(submitted),
        "scheduled_time": service_time(scheduled),
        "end_time": service_time(ended),
    }


def test_without_history_the_fallback_schedule_is_used() -> None:
    plan = PollPlan(DurationHistory(), "m", PollSchedule(delays=(1.0, 2.0), max_delay=4.0))
    assert [plan.next_delay(None) for _ in range(4)] == [1.0, 2.0, 4.0, 4.0]


def test_history_keeps_the_median_of_recent_durations_per_model() -> None:
    history = DurationHistory()
    for run in (8.0, 10.0, 30.0):
        history.record("wan", finished(1000.0, 1002.0, 1002.0 + run))
    assert history.expected_run("wan") == pytest.approx(10.0, abs=0.01)
    assert history.expected_total("wan") == pytest.approx(12.0, abs=0.01)
    assert history.expected_run("other") is None


def test_the_first_poll_comes_just_after_the_expected_end_from_submission() -> None:
    history = DurationHistory()
    history.record_total("wan", service_time(0.0), service_time(6.0))
    now = time.time()
    plan = PollPlan(history, "wan", PollSchedule(), submitted_at=now)
    assert plan.next_delay(None) == pytest.approx(6.0 + MIN_STEP, abs=0.1)


def test_a_running_task_is_polled_at_its_scheduled_time_plus_the_usual_run() -> None:
    history = DurationHistory()
    history.record("wan", finished(0.0, 5.0, 9.0))  # 4 s of running after 5 s in the queue
    now = time.time()
    plan = PollPlan(history, "wan", PollSchedule(), submitted_at=now - 20)
    running = {"task_status": "RUNNING", "scheduled_time": service_time(now - 1.0)}
    assert plan.next_delay(running) == pytest.approx(3.0 + MIN_STEP, abs=0.1)


def test_a_task_later_than_usual_is_polled_in_growing_steps() -> None:
    history = DurationHistory()
    history.record("wan", finished(0.0, 0.0, 10.0))
    plan = PollPlan(history, "wan", PollSchedule(), submitted_at=time.time() - 60)
    steps = [plan.next_delay({"task_status": "RUNNING"}) for _ in range(4)]
    assert steps[0] == pytest.approx(1.0) and steps == sorted(steps) and steps[-1] <= 5.0
