"""One poller per process: polls falling due together are answered by the task list, ended tasks by one GET each."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
import respx

from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope import watcher as task_watcher
from bailian_mcp.dashscope.client import DashScopeClient, PollSchedule, RetryPolicy, TaskSnapshot
from bailian_mcp.dashscope.watcher import TaskWatcher
from bailian_mcp.jobs.polls import StorePolls
from bailian_mcp.jobs.store import JobStoreWriteError
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore

BASE = "https://dashscope.test/api/v1"


def task_reply(task_id: str, status: str) -> httpx.Response:
    output = {"task_id": task_id, "task_status": status, "submit_time": "2026-12-07 20:00:00.000"}
    if status == "SUCCEEDED":
        output["results"] = [{"url": f"https://oss.test/{task_id}.png"}]
    return httpx.Response(200, json={"request_id": "r", "output": output})


def listing(items: list[tuple[str, str]]) -> httpx.Response:
    data = [{"task_id": task_id, "status": status, "gmt_create": 1796644800000} for task_id, status in items]
    return httpx.Response(200, json={"request_id": "r", "total": len(data), "total_page": 1, "data": data})


def quick_client() -> DashScopeClient:
    """A client that tries once, polls every 50 ms and does not pace its task queries."""
    client = DashScopeClient(
        api_key="sk-test",
        base_url=BASE,
        retry=RetryPolicy(attempts=1),
        poll=PollSchedule(delays=(0.05,), max_delay=0.05),
    )
    client.limiter.set_rate("tasks", 0)
    return client


@pytest.fixture
async def watcher() -> AsyncIterator[TaskWatcher]:
    client = quick_client()
    watching = TaskWatcher(client)
    async with client, anyio.create_task_group() as group:
        group.start_soon(watching.run)
        yield watching
        group.cancel_scope.cancel()


async def read_all(watcher: TaskWatcher, task_ids: list[str]) -> dict[str, TaskSnapshot]:
    read: dict[str, TaskSnapshot] = {}

    async def one(task_id: str) -> None:
        read[task_id] = await watcher.read(task_id)

    for task_id in task_ids:
        watcher.followed[task_id] += 1
    async with anyio.create_task_group() as group:
        for task_id in task_ids:
            group.start_soon(one, task_id)
    return read


async def test_a_lone_poll_is_one_get(watcher: TaskWatcher) -> None:
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        get = mock.get("/tasks/t1").mock(return_value=task_reply("t1", "RUNNING"))
        listed = mock.get("/tasks")
        snapshot = await watcher.read("t1")
    assert snapshot.status == "RUNNING" and get.call_count == 1 and listed.call_count == 0


async def test_many_polls_due_together_are_answered_by_the_list_and_ended_tasks_by_one_get_each(
    watcher: TaskWatcher,
) -> None:
    running = [f"r{n}" for n in range(8)]
    pending = ["p0", "p1"]
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:

        def listed(request: httpx.Request) -> httpx.Response:
            status = request.url.params["status"]
            ids = running if status == "RUNNING" else pending
            return listing([(task_id, status) for task_id in ids] + [("someone-elses", status)])

        lists = mock.get("/tasks").mock(side_effect=listed)
        ended = mock.get("/tasks/done").mock(return_value=task_reply("done", "SUCCEEDED"))
        others = mock.get(url__regex=r"/tasks/[rp]\d").mock(return_value=task_reply("x", "RUNNING"))
        read = await read_all(watcher, [*running, *pending, "done"])
    assert lists.call_count == 2 and ended.call_count == 1 and others.call_count == 0, "2 queries + 1, not 11"
    assert {read[task_id].status for task_id in running} == {"RUNNING"}
    assert read["p0"].status == "PENDING" and read["p0"].output["submit_time"].startswith("20")
    assert read["done"].status == "SUCCEEDED" and read["done"].output["results"]


async def test_a_list_that_would_cost_more_than_the_polls_is_cut_short(watcher: TaskWatcher) -> None:
    asked = [f"t{n}" for n in range(4)]
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        many_pages = {"request_id": "r", "total": 900, "total_page": 9, "data": []}
        lists = mock.get("/tasks").mock(return_value=httpx.Response(200, json=many_pages))
        gets = mock.get(url__regex=r"/tasks/t\d").mock(side_effect=lambda r: task_reply(r.url.path[-2:], "RUNNING"))
        read = await read_all(watcher, asked)
    assert lists.call_count == 3 and gets.call_count == 4  # the budget (asks - 1) spent, then one GET each
    assert all(read[task_id].status == "RUNNING" for task_id in asked)


async def test_a_list_that_did_not_pay_is_left_out_for_the_next_windows(watcher: TaskWatcher) -> None:
    """Tasks that had all ended by the time they were asked about: the GETs alone were cheaper, so the next windows
    (1, then 2, then 4 …) use them alone."""
    asked = [f"t{n}" for n in range(5)]
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        lists = mock.get("/tasks").mock(return_value=listing([]))
        gets = mock.get(url__regex=r"/tasks/t\d").mock(side_effect=lambda r: task_reply(r.url.path[-2:], "SUCCEEDED"))
        counts = []
        for _ in range(5):
            await read_all(watcher, asked)
            counts.append(lists.call_count)
    assert counts == [2, 2, 4, 4, 4] and gets.call_count == 25  # tried, skipped 1, tried, skipped 2


async def test_a_failed_query_reaches_every_poll_of_its_window(watcher: TaskWatcher) -> None:
    asked = [f"t{n}" for n in range(5)]
    with respx.mock(base_url=BASE, assert_all_called=False) as mock:
        mock.get("/tasks").mock(return_value=httpx.Response(500, json={"code": "InternalError", "message": "x"}))
        failures: list[BaseException] = []

        async def one(task_id: str) -> None:
            try:
                await watcher.read(task_id)
            except errors.DashScopeError as exc:
                failures.append(exc)

        for task_id in asked:
            watcher.followed[task_id] += 1
        async with anyio.create_task_group() as group:
            for task_id in asked:
                group.start_soon(one, task_id)
    assert len(failures) == 5 and all(isinstance(f, errors.ServerError) for f in failures)


async def test_followers_through_the_watcher_end_with_full_results_in_fewer_queries(watcher: TaskWatcher) -> None:
    """Twelve tasks followed at once, each ending 0.5 s after it is first asked about: followed one GET per poll,
    then through the watcher."""
    tasks = [f"t{n:02d}" for n in range(12)]

    async def follow_all(through_watcher: bool) -> tuple[int, dict[str, TaskSnapshot]]:
        ends: dict[str, float] = {}

        def status_of(task_id: str) -> str:
            return "SUCCEEDED" if time.monotonic() >= ends.setdefault(task_id, time.monotonic() + 0.5) else "RUNNING"

        def listed(request: httpx.Request) -> httpx.Response:
            status = request.url.params["status"]
            return listing([(task_id, status) for task_id in tasks if status_of(task_id) == status])

        def got(request: httpx.Request) -> httpx.Response:
            task_id = request.url.path.rsplit("/", 1)[1]
            return task_reply(task_id, status_of(task_id))

        results: dict[str, TaskSnapshot] = {}
        with respx.mock(base_url=BASE, assert_all_called=False) as mock:
            lists = mock.get("/tasks").mock(side_effect=listed)
            gets = mock.get(url__regex=r"/tasks/t\d\d$").mock(side_effect=got)

            async def follow(task_id: str) -> None:
                wait = watcher.wait if through_watcher else watcher.client.wait
                results[task_id] = await wait(task_id, timeout=10)

            async with anyio.create_task_group() as group:
                for task_id in tasks:
                    group.start_soon(follow, task_id)
        return lists.call_count + gets.call_count, results

    alone, _ = await follow_all(through_watcher=False)
    shared, results = await follow_all(through_watcher=True)
    assert all(results[t].status == "SUCCEEDED" and results[t].output["results"] for t in tasks)
    assert shared < alone / 2, (shared, alone)


# ---------------------------------------------------------------- one poller for the processes of an account


@pytest.fixture
def quick_asks(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(task_watcher, "ASK_POLL_SECONDS", 0.02)
    monkeypatch.setattr(task_watcher, "LEAD_IDLE_SECONDS", 0.2)


def process(path: Path, *, lease_seconds: float = 30.0) -> tuple[TaskWatcher, SQLiteJobStore]:
    """A process's watcher sharing its polls through the SQLite store at `path` (its own connection and owner)."""
    client = quick_client()
    store = SQLiteJobStore(path, lease_seconds=lease_seconds)
    return TaskWatcher(client, shared=StorePolls(store, "acct")), store


@asynccontextmanager
async def running(*processes: tuple[TaskWatcher, SQLiteJobStore]) -> AsyncIterator[None]:
    async with anyio.create_task_group() as group:
        for watching, _ in processes:
            group.start_soon(watching.run)
        yield
        group.cancel_scope.cancel()
    for watching, store in processes:
        await watching.client.aclose()
        store.close()


def never_polls(watching: TaskWatcher) -> None:
    async def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("this process polled DashScope itself")

    watching.client.get_task = refuse  # type: ignore[method-assign]
    watching.client.list_tasks = refuse  # type: ignore[method-assign]


@pytest.mark.usefixtures("quick_asks")
async def test_a_process_not_leading_is_answered_by_the_leader_through_the_store(tmp_path: Path) -> None:
    leader, other = process(tmp_path / "jobs.sqlite3"), process(tmp_path / "jobs.sqlite3")
    tasks = [f"t{n}" for n in range(5)]
    async with running(leader, other):
        with respx.mock(base_url=BASE, assert_all_called=False) as mock:
            for task_id in ["mine", *tasks]:
                mock.get(f"/tasks/{task_id}").mock(return_value=task_reply(task_id, "SUCCEEDED"))
            mock.get("/tasks").mock(return_value=listing([]))
            assert (await leader[0].read("mine")).status == "SUCCEEDED"  # it leads from here on
            never_polls(other[0])
            snapshots = {}

            async def follow(task_id: str) -> None:
                snapshots[task_id] = await other[0].wait(task_id, timeout=10, model="wanx-v1")

            async with anyio.create_task_group() as group:
                for task_id in tasks:
                    group.start_soon(follow, task_id)
            queries = [call.request.url.path for call in mock.calls]
        assert {t: s.status for t, s in snapshots.items()} == dict.fromkeys(tasks, "SUCCEEDED")
        assert snapshots["t3"].output["results"] == [{"url": "https://oss.test/t3.png"}], "the full result"
        assert sorted(path for path in queries if path != "/api/v1/tasks") == sorted(
            f"/api/v1/tasks/{task_id}" for task_id in ["mine", *tasks]
        ), "each task read once, by the leader"
        assert await other[1].answers(tasks) == {}, "asks forgotten once their followers are done"


@pytest.mark.usefixtures("quick_asks")
async def test_with_nobody_leading_a_process_leads_and_steps_down_when_idle(tmp_path: Path) -> None:
    alone = process(tmp_path / "jobs.sqlite3")
    async with running(alone):
        with respx.mock(base_url=BASE) as mock:
            get = mock.get("/tasks/t1").mock(return_value=task_reply("t1", "RUNNING"))
            assert (await alone[0].read("t1")).status == "RUNNING" and get.call_count == 1
        onlooker = SQLiteJobStore(tmp_path / "jobs.sqlite3")
        try:
            assert await onlooker.led_elsewhere("poller:acct")
            await anyio.sleep(0.5)
            assert not await onlooker.led_elsewhere("poller:acct"), "an idle leader steps down"
        finally:
            onlooker.close()


@pytest.mark.usefixtures("quick_asks")
async def test_asks_left_by_a_dead_leader_are_answered_once_its_lease_lapses(tmp_path: Path) -> None:
    dead = SQLiteJobStore(tmp_path / "jobs.sqlite3", lease_seconds=0.3)
    assert await dead.lead(
        "poller:acct", seconds=0.3
    )  # then its process was killed: the lead is never kept or given up
    dead.close()
    other = process(tmp_path / "jobs.sqlite3", lease_seconds=0.3)
    async with running(other):
        with respx.mock(base_url=BASE) as mock:
            get = mock.get("/tasks/t1").mock(return_value=task_reply("t1", "SUCCEEDED"))
            started = time.monotonic()
            snapshot = await other[0].read("t1")
        assert snapshot.status == "SUCCEEDED" and get.call_count == 1
        assert time.monotonic() - started >= 0.2, "waited for the lease to lapse"


@pytest.mark.usefixtures("quick_asks")
async def test_a_task_the_leader_could_not_read_is_read_by_its_asker(tmp_path: Path) -> None:
    leader, other = process(tmp_path / "jobs.sqlite3"), process(tmp_path / "jobs.sqlite3")
    async with running(leader, other):
        with respx.mock(base_url=BASE) as mock:
            mock.get("/tasks/mine").mock(return_value=task_reply("mine", "RUNNING"))
            await leader[0].read("mine")
            get = mock.get("/tasks/t1").mock(
                side_effect=[httpx.Response(500, json={"code": "InternalError"}), task_reply("t1", "RUNNING")]
            )
            snapshot = await other[0].read("t1")
        assert snapshot.status == "RUNNING" and get.call_count == 2, "the leader's failed GET, then the asker's own"


async def test_a_store_that_cannot_be_written_leaves_each_process_polling_for_itself_alone(tmp_path: Path) -> None:
    store = SQLiteJobStore(tmp_path / "jobs.sqlite3")
    other = SQLiteJobStore(tmp_path / "jobs.sqlite3")
    try:
        await other.ask("acct", ["theirs"])  # another process's ask, which this one could not answer
        polls = StorePolls(store, "acct")

        async def full_disk(*args: object, **kwargs: object) -> bool:
            raise JobStoreWriteError(store.where, "database or disk is full")

        store.lead = full_disk  # type: ignore[method-assign]
        assert await polls.lead() and polls.alone
        assert await polls.open_asks() == {}, "alone: its own asks only"
    finally:
        store.close()
        other.close()
