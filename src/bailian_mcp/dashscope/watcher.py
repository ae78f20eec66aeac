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

Processes of one account may share one poller (`SharedPolls`, the job store): one of them *leads* (a lease in the
store) and answers, besides its own, the asks the others write in the store; the others wait for the answers there.
A leader with nothing to answer for a while steps down; an ask its leader leaves unanswered for a lease (the leader
gone, or stuck) is answered by its own process.

    leader:  own asks + the store's open asks ─► window ─► answers ─► own askers; the store for the others'
    others:  asks ─► the store ─► (every ASK_POLL_SECONDS) its answers ─► askers
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any, Protocol

import anyio
import anyio.abc

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
ASK_POLL_SECONDS = 0.1
"""How often a leader reads the asks of other processes from the store, and another process the answers."""
HAND_OVER_WINDOW = 0.02
"""The window of a process that does not lead: short, the leader's gathers the asks of every process."""
OTHERS_ACTIVE_SECONDS = 10.0
"""Other processes asked about a task this recently: a leader's windows wait for their asks."""
LEAD_IDLE_SECONDS = 2.0
"""A leader with no ask for this long steps down (the next process with asks leads)."""


class SharedPolls(Protocol):
    """Where the processes of an account share one poller (`jobs.polls.StorePolls`). It never fails: a store that
    cannot be used makes each process lead (poll) for itself, and its asks go unanswered (read by their process)."""

    lease_seconds: float

    async def lead(self) -> bool:
        """Take the lead, or keep it for a lease more, unless another process has it: whether this one has it."""

    async def led_elsewhere(self) -> bool:
        """Whether another process leads (its lease standing)."""

    async def step_down(self) -> None: ...

    async def ask(self, task_ids: Collection[str]) -> dict[str, int]:
        """Ask the leader for the tasks' status: the number of each ask written (the answer will carry it)."""

    async def open_asks(self) -> dict[str, int]:
        """The asks not answered yet: task id -> the number of its latest ask."""

    async def answer(self, answers: Mapping[str, tuple[int, TaskSnapshot | None]]) -> None:
        """Answer asks (None: the task could not be read; its asker reads it)."""

    async def answers(self, task_ids: Collection[str]) -> dict[str, tuple[int, TaskSnapshot | None]]:
        """The latest answers about the tasks: the number of the ask each answers, and the status."""

    async def forget(self, task_ids: Collection[str]) -> None:
        """Nobody here follows the tasks any more."""


@dataclass
class _Ask:
    task_id: str
    done: anyio.Event = field(default_factory=anyio.Event)
    snapshot: TaskSnapshot | None = None
    error: BaseException | None = None


@dataclass
class _Handed:
    """Asks about one task handed to the leader: the number of the latest, and when the first was."""

    number: int
    since: float
    asks: list[_Ask] = field(default_factory=list)


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
    def __init__(self, client: DashScopeClient, shared: SharedPolls | None = None) -> None:
        self.client = client
        self.shared = shared
        self._asks: list[_Ask] = []
        self._wake = anyio.Event()
        self.followed: Counter[str] = Counter()  # tasks whose followers are waiting on them now
        self._list_backoff = 0  # windows to answer without the list after one that did not pay (doubling)
        self._skip_lists = 0
        self._leading = False
        self._led_at = -math.inf  # when the lead was last taken or kept (monotonic)
        self._refused_at = -math.inf  # when the lead was last found another's
        self._busy_at = 0.0  # when the leader last had something to answer (monotonic)
        self._answering: set[str] = set()  # other processes' asks this leader is answering now
        self._others_seen: dict[str, float] = {}  # tasks other processes asked about lately: when (monotonic)
        self._handed: dict[str, _Handed] = {}  # this process's asks waiting for the leader's answers
        self._handed_wake = anyio.Event()
        self._in_store: set[str] = set()  # tasks this process has written asks about

    async def wait(self, task_id: str, **options: Any) -> TaskSnapshot:
        """`DashScopeClient.wait` (same options), its polls answered by this watcher."""
        self.followed[task_id] += 1
        try:
            return await self.client.wait(task_id, read=self.read, **options)
        finally:
            await self._left(task_id)

    async def read(self, task_id: str) -> TaskSnapshot:
        """The task's status now, as `GET /tasks/{id}` gives it (a task still in flight may come from the list,
        without its result fields, which it has not got yet)."""
        self.followed[task_id] += 1
        try:
            ask = _Ask(task_id)
            self._asks.append(ask)
            self._wake.set()
            await ask.done.wait()
        finally:
            await self._left(task_id)
        if ask.error is not None:
            raise ask.error
        assert ask.snapshot is not None
        return ask.snapshot

    async def _left(self, task_id: str) -> None:
        """One follower (a wait, or a read within it) of the task is done; the last one forgets the task here."""
        self.followed[task_id] -= 1
        if self.followed[task_id] > 0:
            return
        del self.followed[task_id]
        self._handed.pop(task_id, None)
        if self.shared is not None and task_id in self._in_store:
            self._in_store.discard(task_id)
            with anyio.CancelScope(shield=True):
                await self.shared.forget([task_id])

    async def run(self) -> None:
        """Answer the asks, window by window (each window's queries under way while the next one gathers), until
        cancelled. Leading, a window also comes every ASK_POLL_SECONDS, for the other processes' asks."""
        try:
            async with anyio.create_task_group() as windows:
                if self.shared is not None:
                    windows.start_soon(self._collect, windows)
                while True:
                    with anyio.move_on_after(ASK_POLL_SECONDS if self._leading else math.inf):
                        await self._wake.wait()
                    self._wake = anyio.Event()
                    if self._asks or self._leading:
                        await anyio.sleep(self._window())
                    asks, self._asks = self._asks, []
                    windows.start_soon(self._settle, asks)
        finally:
            if self.shared is not None and self._leading:
                with anyio.CancelScope(shield=True):
                    await self.shared.step_down()

    def _window(self) -> float:
        """How long a window gathers asks: 10 ms per other task followed (at most WINDOW_MAX); a leader whom other
        processes ask waits WINDOW_MAX, for their asks of the same moment (gathered in their short windows, then
        written) to join its own."""
        window = min(WINDOW_MAX, WINDOW_PER_TASK * max(0, len(self.followed) - 1))
        if self.shared is None:
            return window
        if not self._leading:
            return min(window, HAND_OVER_WINDOW)
        horizon = time.monotonic() - OTHERS_ACTIVE_SECONDS
        return WINDOW_MAX if any(seen > horizon for seen in self._others_seen.values()) else window

    async def _settle(self, asks: list[_Ask], *, here: bool = False) -> None:
        """Answer a window's asks (and, leading, the other processes' open asks); or hand them to the leader.
        `here`: answered by this process whoever leads."""
        if not here and self.shared is not None:
            if not asks and not self._leading:
                return  # a leader's tick come after it stepped down
            if not await self._lead():
                await self._hand_over(asks)
                return
        own = {ask.task_id for ask in asks}
        others = await self._others_asks() if self._leading and not here else {}
        if not own and not others:
            await self._idle()
            return
        self._busy_at = time.monotonic()
        answers: dict[str, TaskSnapshot] = {}
        try:
            answers = await self._answer(own | others.keys())
        except Exception as exc:  # the queries failed: each asker gets the error, as from its own GET
            failure = exc.exceptions[0] if isinstance(exc, ExceptionGroup) else exc
            for ask in asks:
                ask.error = failure
        else:
            for ask in asks:
                ask.snapshot = answers[ask.task_id]
        finally:
            for ask in asks:
                ask.done.set()
            if others:
                assert self.shared is not None
                with anyio.CancelScope(shield=True):
                    await self.shared.answer({task_id: (n, answers.get(task_id)) for task_id, n in others.items()})
                self._answering -= others.keys()

    async def _lead(self) -> bool:
        """Whether this process leads, taking or keeping the lead (written again a third of the way into a lease;
        found another's, tried again a third of a lease later, or as soon as `_collect` finds nobody leading)."""
        assert self.shared is not None
        now = time.monotonic()
        if self._leading and now - self._led_at < self.shared.lease_seconds / 3:
            return True
        if not self._leading and now - self._refused_at < self.shared.lease_seconds / 3:
            return False  # another process led a moment ago (`_collect` sees it if it stops)
        leading = await self.shared.lead()
        self._refused_at = -math.inf if leading else now
        if leading:
            self._led_at = now
            if not self._leading:
                self._busy_at = now
                self._wake.set()  # the loop waits for asks no more, but ticks for the other processes' asks
        self._leading = leading
        return leading

    async def _others_asks(self) -> dict[str, int]:
        """The open asks in the store (mostly other processes'; some this process wrote before it led), but those
        this process is answering already."""
        assert self.shared is not None
        asks = await self.shared.open_asks()
        now = time.monotonic()
        self._others_seen = {t: seen for t, seen in self._others_seen.items() if seen > now - OTHERS_ACTIVE_SECONDS}
        self._others_seen.update(dict.fromkeys(asks, now))
        others = {task_id: n for task_id, n in asks.items() if task_id not in self._answering}
        self._answering |= others.keys()
        return others

    async def _idle(self) -> None:
        """A leader with nothing to answer since LEAD_IDLE_SECONDS steps down."""
        if self._leading and time.monotonic() - self._busy_at > LEAD_IDLE_SECONDS and not self._answering:
            assert self.shared is not None
            self._leading = False
            await self.shared.step_down()

    async def _hand_over(self, asks: list[_Ask]) -> None:
        """Write the asks in the store for the leader (those that cannot be written are answered here)."""
        assert self.shared is not None
        numbers = await self.shared.ask({ask.task_id for ask in asks})
        gone = [task_id for task_id in numbers if task_id not in self.followed]  # their followers left meanwhile
        if gone:
            await self.shared.forget(gone)
        self._in_store |= numbers.keys() - set(gone)
        now = time.monotonic()
        for ask in asks:
            if ask.task_id in numbers and ask.task_id not in gone:
                handed = self._handed.setdefault(ask.task_id, _Handed(numbers[ask.task_id], now))
                handed.number = max(handed.number, numbers[ask.task_id])
                handed.asks.append(ask)
        self._handed_wake.set()
        unwritten = [ask for ask in asks if ask.task_id not in numbers]
        if unwritten:
            await self._settle(unwritten, here=True)

    async def _collect(self, windows: anyio.abc.TaskGroup) -> None:
        """Deliver the leader's answers to the asks handed to it; asks it leaves unanswered for a lease, or when
        nobody leads any more, are answered here (taking the lead, if it is free)."""
        assert self.shared is not None
        while True:
            if not self._handed:
                await self._handed_wake.wait()
                self._handed_wake = anyio.Event()
            await anyio.sleep(ASK_POLL_SECONDS)
            for task_id, (answered, snapshot) in (await self.shared.answers(self._handed.keys())).items():
                handed = self._handed.get(task_id)
                if handed is None or answered < handed.number:
                    continue
                del self._handed[task_id]
                if snapshot is None:  # the leader could not read it: as its own GET would, here
                    windows.start_soon(partial(self._settle, handed.asks, here=True))
                    continue
                for ask in handed.asks:
                    ask.snapshot = snapshot
                    ask.done.set()
            if not self._handed:
                continue
            if not await self.shared.led_elsewhere():  # nobody leads: this process takes the lead, if still free
                self._refused_at = -math.inf
                for task_id in list(self._handed):
                    windows.start_soon(self._settle, self._handed.pop(task_id).asks)
                continue
            overdue = time.monotonic() - self.shared.lease_seconds
            for task_id in [task_id for task_id, handed in self._handed.items() if handed.since < overdue]:
                windows.start_soon(partial(self._settle, self._handed.pop(task_id).asks, here=True))

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
