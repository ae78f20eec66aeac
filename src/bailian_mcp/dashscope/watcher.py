"""One poller for every task a process follows: polls that fall due together are answered by DashScope's task list.

Each follower (`DashScopeClient.wait`) still decides *when* it wants its task's status (its `PollPlan`); it asks
`TaskWatcher.read` instead of `GET /tasks/{id}`. The watcher gathers the asks of a short window and answers them
together: a single ask (or a few) with its own `GET`; many with the account's task list filtered to the tasks still
in flight — one query per status per page of 100, whatever the number of asks — and then one `GET` for each asked
task the list no longer shows as in flight (it ended: its full output is read once). A list that would take more
queries than the asks themselves is cut short; one that answered no more asks than it cost is not tried again for
a while (tasks that mostly end by the time they are asked about: the GETs alone are cheaper).

    asks ─► window (10 ms per other task followed) ─► 1..LIST_FROM-1 asks: GET each
                                                        ≥ LIST_FROM asks: list PENDING, RUNNING ─► GET the ended ones

The loop runs in the process's task group (`run`); a failure of a query is raised to each asker of that window,
as a failed `GET` would be.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import anyio

from bailian_mcp.dashscope.client import DashScopeClient, TaskSnapshot
from bailian_mcp.dashscope.protocol import SERVICE_TZ

WINDOW_PER_TASK = 0.01
WINDOW_MAX = 0.1
"""How long the first ask of a window waits for others: 10 ms per other task followed, at most 0.1 s (nothing when
one task is followed)."""
LIST_FROM = 4
"""Asks in one window from which the task list answers them (fewer: one GET each)."""
MAX_LIST_BACKOFF = 32
PAGE_SIZE = 100
IN_FLIGHT = ("PENDING", "RUNNING")
LIST_HOURS = 24  # DashScope lists the tasks submitted in the last 24 hours


@dataclass
class _Ask:
    task_id: str
    done: anyio.Event = field(default_factory=anyio.Event)
    snapshot: TaskSnapshot | None = None
    error: BaseException | None = None


def _service_time(moment: float) -> str:
    return datetime.fromtimestamp(moment, tz=SERVICE_TZ).strftime("%Y%m%d%H%M%S")


def _listed_snapshot(item: dict[str, Any]) -> TaskSnapshot:
    """A task-list item as a snapshot of a task still in flight (its submit time as the task query says it)."""
    output: dict[str, Any] = {"task_id": item["task_id"], "task_status": item["status"]}
    created = item.get("gmt_create")
    if isinstance(created, int | float):
        moment = datetime.fromtimestamp(created / 1000, tz=SERVICE_TZ)
        output["submit_time"] = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]
    return TaskSnapshot(task_id=str(item["task_id"]), status=str(item["status"]), output=output)


class TaskWatcher:
    def __init__(self, client: DashScopeClient) -> None:
        self.client = client
        self._asks: list[_Ask] = []
        self._wake = anyio.Event()
        self.followed: Counter[str] = Counter()  # tasks whose followers are waiting on them now
        self._list_backoff = 0  # windows to answer without the list after one that did not pay (doubling)
        self._skip_lists = 0

    async def wait(self, task_id: str, **options: Any) -> TaskSnapshot:
        """`DashScopeClient.wait` (same options), its polls answered by this watcher."""
        self.followed[task_id] += 1
        try:
            return await self.client.wait(task_id, read=self.read, **options)
        finally:
            self.followed[task_id] -= 1
            if self.followed[task_id] <= 0:
                del self.followed[task_id]

    async def read(self, task_id: str) -> TaskSnapshot:
        """The task's status now, as `GET /tasks/{id}` gives it (a task still in flight may come from the list,
        without its result fields, which it has not got yet)."""
        ask = _Ask(task_id)
        self._asks.append(ask)
        self._wake.set()
        await ask.done.wait()
        if ask.error is not None:
            raise ask.error
        assert ask.snapshot is not None
        return ask.snapshot

    async def run(self) -> None:
        """Answer the asks, window by window (each window's queries under way while the next one gathers), until
        cancelled."""
        async with anyio.create_task_group() as windows:
            while True:
                await self._wake.wait()
                self._wake = anyio.Event()
                if len(self.followed) > 1:
                    await anyio.sleep(min(WINDOW_MAX, WINDOW_PER_TASK * (len(self.followed) - 1)))
                asks, self._asks = self._asks, []
                windows.start_soon(self._settle, asks)

    async def _settle(self, asks: list[_Ask]) -> None:
        try:
            answers = await self._answer({ask.task_id for ask in asks})
        except Exception as exc:  # the queries failed: each asker gets the error, as from its own GET
            failure = exc.exceptions[0] if isinstance(exc, ExceptionGroup) else exc
            for ask in asks:
                ask.error = failure
        else:
            for ask in asks:
                ask.snapshot = answers[ask.task_id]
        for ask in asks:
            ask.done.set()

    async def _answer(self, task_ids: set[str]) -> dict[str, TaskSnapshot]:
        answers: dict[str, TaskSnapshot] = {}
        if len(task_ids) >= LIST_FROM and self._skip_lists == 0:
            answers, queries = await self._listed(task_ids)
            # A list that answered no more asks than it took queries (the tasks had mostly ended: short tasks,
            # polls timed at their end) is not tried again for a while: 1, 2, 4 … 32 windows.
            self._list_backoff = 0 if len(answers) > queries else min(MAX_LIST_BACKOFF, 2 * self._list_backoff or 1)
            self._skip_lists = self._list_backoff
        elif len(task_ids) >= LIST_FROM:
            self._skip_lists -= 1

        async def get(task_id: str) -> None:
            answers[task_id] = await self.client.get_task(task_id)

        async with anyio.create_task_group() as group:  # at once, as their followers would (pacing permitting)
            for task_id in task_ids - answers.keys():
                group.start_soon(get, task_id)
        return answers

    async def _listed(self, task_ids: set[str]) -> tuple[dict[str, TaskSnapshot], int]:
        """The asked tasks the list shows in flight, within fewer queries than there are asks; and the queries."""
        found: dict[str, TaskSnapshot] = {}
        budget = len(task_ids) - 1  # queries the list may take and still save one
        now = time.time()
        window = {"start_time": _service_time(now - LIST_HOURS * 3600 + 60), "end_time": _service_time(now + 60)}
        for status in IN_FLIGHT:
            page, pages = 1, 1
            while page <= pages and budget > 0:
                reply = await self.client.list_tasks(**window, status=status, page_no=page, page_size=PAGE_SIZE)
                budget -= 1
                pages = int(reply.get("total_page") or math.ceil(int(reply.get("total") or 0) / PAGE_SIZE) or 1)
                for item in reply.get("data") or []:
                    if item.get("task_id") in task_ids and item.get("status") == status:
                        found[str(item["task_id"])] = _listed_snapshot(item)
                page += 1
        return found, len(task_ids) - 1 - budget
