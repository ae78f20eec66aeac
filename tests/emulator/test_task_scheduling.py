"""Properties of the task store's lazy slot scheduling, under random submissions and cancels."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from bailian_mcp.emulator import EmulatorConfig
from bailian_mcp.emulator.tasks import ResultFile, Success, Task, TaskFailure, TaskStore

PENDING, RUNNING, LIMIT = 1.0, 2.0, 2


@dataclass(frozen=True)
class NoJob:
    metrics_total: int | None = None
    failure: TaskFailure | None = None
    files: Sequence[ResultFile] = ()

    def success(self, urls: Sequence[str]) -> Success:
        return Success({}, None, 0)


operations = st.lists(
    st.tuples(
        st.sampled_from([0.0, 0.25, 0.5, 1.0, 3.0]),
        st.one_of(st.just("submit"), st.just("observe"), st.integers(0, 20)),
    ),
    max_size=40,
)


@settings(max_examples=150, deadline=None)
@given(operations)
def test_slots_are_never_oversubscribed_and_handed_out_in_order(script: list[tuple[float, str | int]]) -> None:
    config = EmulatorConfig(pending_seconds=PENDING, running_seconds=RUNNING, max_concurrent_tasks=LIMIT)
    store = TaskStore(config)
    now = 0.0
    tasks: list[Task] = []
    for pause, action in script:
        now += pause
        if action == "submit":
            tasks.append(store.submit(model="m", service="s", job=NoJob(), api_key="k", request_id="r", now=now))
        elif action == "observe":
            running = [t for t in store.tasks(now) if t.progress(now).status == "RUNNING"]
            assert len(running) <= LIMIT
        elif isinstance(action, int) and action < len(tasks):
            task = store.get(tasks[action].task_id, now)
            was_pending = task is not None and task.progress(now).status == "PENDING"
            assert store.cancel(tasks[action].task_id, now) == was_pending
    store.tasks(now + 1000)  # settle everything

    slots = [(t.running_at - PENDING, t.ends_at) for t in tasks if t.running_at is not None and t.ends_at is not None]
    for start, _ in slots:
        assert sum(1 for other_start, other_end in slots if other_start <= start < other_end) <= LIMIT
    starts = [start for start, _ in slots]
    assert starts == sorted(starts), "slots are handed out in submission order"
    ends = {end for _, end in slots}
    previous = float("-inf")
    for task in tasks:
        assert task.canceled_at is not None or task.running_at is not None, "every task runs unless canceled"
        if task.running_at is None:
            continue
        start = task.running_at - PENDING
        assert start >= task.submitted_at
        assert start in {task.submitted_at, previous} or start in ends, "no slot stays idle while a task waits"
        previous = start
