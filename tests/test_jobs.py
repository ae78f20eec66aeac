"""The durable job store: every job is on record before its request is sent, across processes."""

from __future__ import annotations

import itertools
import sqlite3
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx
from pydantic import SecretStr

from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE, TextToImageParams
from bailian_mcp.config import Settings
from bailian_mcp.jobs import migrations, store_sqlite
from bailian_mcp.jobs.status import JOB_FINAL, TASK_FINAL
from bailian_mcp.jobs.store import Budget, JobStore, JobStoreUnavailableError, OverBudgetError, Spending
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from tests.support.services import quick_services
from tests.support.stores import StoreLocation

BASE = "https://dashscope.test/api/v1"


@pytest.fixture
async def store(store_at: StoreLocation) -> AsyncIterator[JobStore]:
    """A store of each kind: every test taking it runs on SQLite and on PostgreSQL."""
    job_store = await store_at.open()
    yield job_store
    await job_store.aclose()


@pytest.fixture
def sqlite_store(tmp_path: Path) -> Iterator[SQLiteJobStore]:
    job_store = SQLiteJobStore(tmp_path / "state" / "jobs.sqlite3")
    yield job_store
    job_store.close()


async def new_job(store: JobStore, **overrides: Any) -> str:
    fields: dict[str, Any] = {
        "capability": "text_to_image",
        "model": "wan2.2-t2i-flash",
        "base_url": BASE,
        "params": {"prompt": "一只猫", "n": 1},
        "request": {"model": "wan2.2-t2i-flash", "input": {"prompt": "一只猫"}},
    }
    fields.update(overrides)
    return (await store.create(**fields)).job_id


def test_final_states_are_the_tasks_plus_rejected() -> None:
    assert frozenset({"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"}) == TASK_FINAL
    assert TASK_FINAL | {"REJECTED"} == JOB_FINAL
    assert not {"SUBMITTING", "SUBMIT_UNCERTAIN", "PENDING", "RUNNING", "SUSPENDED"} & JOB_FINAL


def test_the_store_creates_its_folder(tmp_path: Path) -> None:
    SQLiteJobStore(tmp_path / "a" / "b" / "jobs.sqlite3").close()
    assert (tmp_path / "a" / "b" / "jobs.sqlite3").is_file()


async def test_create_records_a_submitting_job_with_its_params_and_request(store: JobStore) -> None:
    before = time.time()
    job = await store.create(
        capability="text_to_image",
        model="qwen-image",
        base_url=BASE,
        params={"prompt": "春联", "size": "1472*1140"},
        request={"model": "qwen-image", "input": {"prompt": "春联"}, "parameters": {"size": "1472*1104"}},
        fingerprint="fp-1",
    )
    assert job.job_id.startswith("job_") and len(job.job_id) == len("job_") + 16
    assert job.status == "SUBMITTING" and not job.final
    assert job.task_id is None and job.submitted_at is None and job.finished_at is None
    assert job.capability == "text_to_image" and job.model == "qwen-image" and job.base_url == BASE
    assert job.params == {"prompt": "春联", "size": "1472*1140"}
    assert job.request["parameters"] == {"size": "1472*1104"}
    assert job.fingerprint == "fp-1"
    assert job.result is None and job.error is None
    assert before <= job.created_at <= time.time() and job.updated_at == job.created_at
    assert await store.get(job.job_id) == job


async def test_job_ids_are_unique(store: JobStore) -> None:
    ids = {await new_job(store) for _ in range(20)}
    assert len(ids) == 20


async def test_attach_task_records_the_task_id_status_and_submit_time(store: JobStore) -> None:
    job_id = await new_job(store)
    await store.attach_task(job_id, "task-1", "PENDING")
    job = await store.get(job_id)
    assert job is not None
    assert job.task_id == "task-1" and job.status == "PENDING"
    assert job.submitted_at is not None and job.submitted_at >= job.created_at
    assert job.finished_at is None


async def test_set_status_sets_finished_at_only_for_final_states(store: JobStore) -> None:
    job_id = await new_job(store)
    await store.attach_task(job_id, "task-1", "PENDING")
    await store.set_status(job_id, "RUNNING")
    running = await store.get(job_id)
    assert running is not None and running.status == "RUNNING" and running.finished_at is None
    await store.set_status(job_id, "FAILED")
    failed = await store.get(job_id)
    assert failed is not None and failed.status == "FAILED" and failed.final
    assert failed.finished_at is not None and failed.finished_at >= running.updated_at


@pytest.mark.parametrize("status", sorted(JOB_FINAL))
async def test_every_final_status_gets_a_finished_time(store: JobStore, status: str) -> None:
    job_id = await new_job(store)
    await store.set_status(job_id, status)
    job = await store.get(job_id)
    assert job is not None and job.finished_at is not None and job.final


@pytest.mark.parametrize("status", ["SUBMIT_UNCERTAIN", "PENDING", "RUNNING", "SUSPENDED"])
async def test_an_unfinished_status_has_no_finished_time(store: JobStore, status: str) -> None:
    job_id = await new_job(store)
    await store.set_status(job_id, status)
    job = await store.get(job_id)
    assert job is not None and job.finished_at is None and not job.final


async def test_set_status_records_an_error_and_keeps_it_when_none_is_given(store: JobStore) -> None:
    job_id = await new_job(store)
    await store.set_status(job_id, "SUBMIT_UNCERTAIN", error={"code": "ReadTimeout", "message": "no reply"})
    await store.set_status(job_id, "SUBMIT_UNCERTAIN")
    job = await store.get(job_id)
    assert job is not None and job.error == {"code": "ReadTimeout", "message": "no reply"}


async def test_save_result_stores_the_result_with_a_final_status(store: JobStore) -> None:
    job_id = await new_job(store)
    await store.attach_task(job_id, "task-1", "PENDING")
    result = {"job_id": job_id, "status": "SUCCEEDED", "outputs": [{"index": 0, "path": "/tmp/猫.png"}]}
    await store.save_result(job_id, "SUCCEEDED", result)
    job = await store.get(job_id)
    assert job is not None
    assert job.status == "SUCCEEDED" and job.result == result and job.finished_at is not None


async def test_saving_a_result_again_keeps_the_first_finish_time(store: JobStore) -> None:
    job_id = await new_job(store)
    await store.save_result(job_id, "SUCCEEDED", {"n": 1})
    first = await store.get(job_id)
    await anyio.sleep(0.01)
    await store.save_result(job_id, "SUCCEEDED", {"n": 2})
    second = await store.get(job_id)
    assert first is not None and second is not None
    assert second.result == {"n": 2} and second.finished_at == first.finished_at
    assert second.updated_at > first.updated_at


async def test_find_accepts_the_job_id_or_the_task_id(store: JobStore) -> None:
    job_id = await new_job(store)
    await store.attach_task(job_id, "9e2b6ef6-285d-4efa-8651-4dbda7d571fa", "PENDING")
    by_job = await store.find(job_id)
    by_task = await store.find("9e2b6ef6-285d-4efa-8651-4dbda7d571fa")
    assert by_job is not None and by_task is not None and by_job.job_id == by_task.job_id == job_id
    assert (await store.by_task("9e2b6ef6-285d-4efa-8651-4dbda7d571fa")) == by_job
    assert await store.find("job_doesnotexist00") is None
    assert await store.get("9e2b6ef6-285d-4efa-8651-4dbda7d571fa") is None


async def test_list_is_newest_first_and_limited(store: JobStore) -> None:
    ids = []
    for _ in range(5):
        ids.append(await new_job(store))
        await anyio.sleep(0.002)
    assert [job.job_id for job in await store.list()] == ids[::-1]
    assert [job.job_id for job in await store.list(limit=2)] == ids[:-3:-1]


async def test_list_filters_by_status_capability_and_since(store: JobStore) -> None:
    old = await new_job(store)
    await store.set_status(old, "FAILED")
    await anyio.sleep(0.01)
    cutoff = time.time()
    await anyio.sleep(0.01)
    running = await new_job(store)
    await store.set_status(running, "RUNNING")
    video = await new_job(store, capability="text_to_video", model="wanx2.1-t2v-turbo")
    await store.set_status(video, "RUNNING")

    assert [j.job_id for j in await store.list(status="FAILED")] == [old]
    assert {j.job_id for j in await store.list(status="RUNNING")} == {running, video}
    assert [j.job_id for j in await store.list(capability="text_to_video")] == [video]
    assert {j.job_id for j in await store.list(since=cutoff)} == {running, video}
    assert [j.job_id for j in await store.list(status="RUNNING", capability="text_to_image", since=cutoff)] == [running]
    assert await store.list(status="SUCCEEDED") == []


async def test_two_stores_on_one_database_see_each_others_writes(store_at: StoreLocation) -> None:
    first, second = await store_at.open(), await store_at.open()
    try:
        job_id = await new_job(first)
        seen = await second.get(job_id)
        assert seen is not None and seen.status == "SUBMITTING"
        await second.attach_task(job_id, "task-x", "PENDING")
        await second.set_status(job_id, "RUNNING")
        seen_back = await first.find("task-x")
        assert seen_back is not None and seen_back.job_id == job_id and seen_back.status == "RUNNING"
        other = await new_job(second)
        assert {j.job_id for j in await first.list()} == {job_id, other}
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_reopened_store_still_has_the_jobs(store_at: StoreLocation) -> None:
    store = await store_at.open()
    job_id = await new_job(store)
    await store.save_result(job_id, "SUCCEEDED", {"ok": True})
    await store.aclose()
    reopened = await store_at.open()
    try:
        job = await reopened.get(job_id)
        assert job is not None and job.result == {"ok": True} and job.status == "SUCCEEDED"
    finally:
        await reopened.aclose()


async def test_many_concurrent_creates_all_land(store_at: StoreLocation) -> None:
    stores = [await store_at.open(), await store_at.open()]  # two connections, as two processes would have
    created: list[str] = []

    async def make(i: int) -> None:
        created.append(await new_job(stores[i % 2], params={"i": i}))

    try:
        async with anyio.create_task_group() as group:
            for i in range(100):
                group.start_soon(make, i)
        jobs = await stores[0].list(limit=1000)
        assert len(created) == len(set(created)) == 100
        assert {j.job_id for j in jobs} == set(created)
        assert sorted(j.params["i"] for j in jobs) == list(range(100))
    finally:
        for s in stores:
            await s.aclose()


SENTINEL_KEY = "sk-SENTINEL-0f1e2d3c4b5a69788796a5b4c3d2e1f0"


async def test_the_api_key_is_never_written_to_the_job_store(settings: Settings) -> None:
    settings = settings.model_copy(update={"api_key": SecretStr(SENTINEL_KEY)})
    submitted = {"output": {"task_status": "PENDING", "task_id": "t-key"}, "request_id": "r1"}
    done = {
        "request_id": "r2",
        "output": {"task_id": "t-key", "task_status": "FAILED", "code": "InvalidParameter", "message": "bad"},
    }
    async with quick_services(settings) as services:
        with respx.mock:
            post = respx.post(f"{BASE}/services/aigc/text2image/image-synthesis").mock(
                return_value=httpx.Response(200, json=submitted)
            )
            respx.get(f"{BASE}/tasks/t-key").mock(return_value=httpx.Response(200, json=done))
            result = await services.runner.run(TEXT_TO_IMAGE, TextToImageParams(prompt="a cat"), wait_seconds=5)
        assert post.calls.last.request.headers["Authorization"] == f"Bearer {SENTINEL_KEY}"
        assert result.status == "FAILED"
        # a rejected submit too: its error text must not carry the key either
        with respx.mock:
            respx.post(f"{BASE}/services/aigc/text2image/image-synthesis").mock(
                return_value=httpx.Response(
                    401, json={"code": "InvalidApiKey", "message": "Invalid API-key provided.", "request_id": "r3"}
                )
            )
            with pytest.raises(Exception, match="InvalidApiKey"):
                await services.runner.run(TEXT_TO_IMAGE, TextToImageParams(prompt="a dog"), wait_seconds=5)
        assert len(await services.store.list()) == 2
        assert_not_on_disk(SENTINEL_KEY, settings.data_dir)  # the database and its write-ahead log, while open
    assert_not_on_disk(SENTINEL_KEY, settings.data_dir)  # and after closing


def assert_not_on_disk(secret: str, folder: Path) -> None:
    files = list(folder.glob("jobs.sqlite3*"))
    assert folder / "jobs.sqlite3" in files, "the job store is not where the settings say"
    stored = b"".join(file.read_bytes() for file in files)
    assert b"a dog" in stored, "the jobs' own text should be readable in these bytes"
    assert secret.encode() not in stored
    assert secret[3:].encode() not in stored  # not even without its prefix


# ---------------------------------------------------------------------- quick writes


async def test_a_write_while_another_process_holds_the_database_waits_for_it_on_a_thread(
    sqlite_store: SQLiteJobStore, tmp_path: Path
) -> None:
    store = sqlite_store
    job_id = await new_job(store)
    other = sqlite3.connect(str(tmp_path / "state" / "jobs.sqlite3"), isolation_level=None)
    other.execute("BEGIN IMMEDIATE")  # another process writing: the quick connection would have to wait
    try:
        async with anyio.create_task_group() as group:
            group.start_soon(store.set_status, job_id, "RUNNING")
            await anyio.sleep(0.2)
            assert other.execute("SELECT status FROM jobs WHERE job_id = ?", (job_id,)).fetchone() == ("SUBMITTING",)
            other.execute("COMMIT")
    finally:
        other.close()
    job = await store.get(job_id)
    assert job is not None and job.status == "RUNNING"


async def test_quick_writes_are_checkpointed_every_so_often(
    sqlite_store: SQLiteJobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = sqlite_store
    monkeypatch.setattr(store_sqlite, "QUICK_WRITES_PER_CHECKPOINT", 5)
    wal = tmp_path / "state" / "jobs.sqlite3-wal"
    checkpoints: list[str] = []
    patient = store._query

    async def spy(sql: str, args: tuple[Any, ...] = ()) -> Any:
        checkpoints.extend([sql] if "wal_checkpoint" in sql else [])
        return await patient(sql, args)

    monkeypatch.setattr(store, "_query", spy)
    for _ in range(4):
        await new_job(store)
    assert checkpoints == [] and wal.stat().st_size > 0
    await new_job(store)
    assert checkpoints == ["PRAGMA wal_checkpoint(PASSIVE)"]
    assert len(await store.list(limit=10)) == 5


# ---------------------------------------------------------------------- holds, shared pacing, migrations


async def test_a_job_is_held_by_the_process_that_records_it_until_it_lets_go(store_at: StoreLocation) -> None:
    mine, theirs = await store_at.open(), await store_at.open()  # two processes
    try:
        job_id = await new_job(mine)
        seen = await theirs.get(job_id)
        assert seen is not None and theirs.held_elsewhere(seen) and not mine.held_elsewhere(seen)
        assert not await theirs.hold(job_id)
        await mine.release(job_id)
        seen = await theirs.get(job_id)
        assert seen is not None and not theirs.held_elsewhere(seen)
        assert await theirs.hold(job_id)
        taken = await mine.get(job_id)
        assert taken is not None and mine.held_elsewhere(taken) and taken.owner == theirs.owner
    finally:
        await mine.aclose()
        await theirs.aclose()


async def test_a_hold_lapses_unless_renewed_and_the_job_is_then_taken_over(store_at: StoreLocation) -> None:
    mine, theirs = await store_at.open(lease_seconds=0.4), await store_at.open(lease_seconds=0.4)
    try:
        job_id = await new_job(mine)
        await anyio.sleep(0.25)
        await mine.renew_leases()  # the heartbeat
        await anyio.sleep(0.25)
        assert not await theirs.hold(job_id), "renewed 0.25 s ago: still held"
        await anyio.sleep(0.45)  # no renewal: a process that died
        assert await theirs.hold(job_id)
    finally:
        await mine.aclose()
        await theirs.aclose()


async def test_holds_within_one_process_are_counted(store: JobStore) -> None:
    job_id = await new_job(store)  # held once by recording it
    async with store.holding(job_id) as held:
        assert held and store.holds(job_id)
        await store.release(job_id)  # the recording's hold ends; the block's stands
        job = await store.get(job_id)
        assert job is not None and job.lease_until is not None and store.holds(job_id)
    job = await store.get(job_id)
    assert job is not None and job.lease_until is None and not store.holds(job_id)


async def test_a_submission_held_by_a_live_process_is_not_marked_lost_and_one_whose_hold_lapsed_is(
    store_at: StoreLocation,
) -> None:
    mine, theirs = await store_at.open(lease_seconds=0.3), await store_at.open()
    try:
        job_id = await new_job(mine)
        assert await mine.claim_sending(job_id)
        await theirs.mark_lost_submissions(sent_before=time.time() + 60)
        job = await theirs.get(job_id)
        assert job is not None and job.status == "SUBMITTING"
        await anyio.sleep(0.35)  # the sender died with the reply on its way
        await theirs.mark_lost_submissions(sent_before=0)
        job = await theirs.get(job_id)
        assert job is not None and job.status == "SUBMIT_UNCERTAIN" and job.error is not None
    finally:
        await mine.aclose()
        await theirs.aclose()


async def test_slots_are_booked_for_every_process_on_the_store(store_at: StoreLocation) -> None:
    stores = [await store_at.open(), await store_at.open()]
    try:
        starts = [await stores[i % 2].book("account/wan2.2-t2i-flash", 0.5) for i in range(6)]
        other = await stores[0].book("account/qwen-image", 0.5)
    finally:
        for one in stores:
            await one.aclose()
    gaps = [later - earlier for earlier, later in itertools.pairwise(starts)]
    assert gaps == [pytest.approx(0.5, abs=1e-6)] * 5
    assert other < starts[-1], "another bucket has its own slots"


async def test_an_older_sqlite_store_is_migrated_once_and_keeps_its_jobs(tmp_path: Path) -> None:
    path = tmp_path / "jobs.sqlite3"
    with closing(sqlite3.connect(path)) as db, db:
        db.executescript(migrations.MIGRATIONS[0][0] + ";")  # a store of the first version, unnumbered
        db.execute(
            "INSERT INTO jobs (job_id, capability, model, status, base_url, params_json, request_json, created_at,"
            " updated_at) VALUES ('job_old', 'text_to_image', 'wanx-v1', 'SUCCEEDED', '', '{}', '{}', 1, 1)"
        )
    first, second = SQLiteJobStore(path), SQLiteJobStore(path)
    try:
        old = await second.get("job_old")
        assert old is not None and old.status == "SUCCEEDED" and old.owner is None and old.part is None
        with closing(sqlite3.connect(path)) as db:
            assert db.execute("SELECT version FROM schema_version").fetchall() == [(migrations.LATEST,)]
    finally:
        first.close()
        second.close()


async def test_a_store_made_by_a_newer_version_is_refused_untouched(store_at: StoreLocation) -> None:
    store = await store_at.open()
    await store._write("UPDATE schema_version SET version = ?", (migrations.LATEST + 1,))
    await store.aclose()
    with pytest.raises(JobStoreUnavailableError, match=f"version {migrations.LATEST + 1}"):
        await store_at.open()


async def test_a_batch_task_is_claimed_once_and_a_dead_workers_claim_lapses(store_at: StoreLocation) -> None:
    first, second = await store_at.open(lease_seconds=0.3), await store_at.open(lease_seconds=0.3)
    try:
        assert await first.claim("task-fp", replaces=None)
        assert not await second.claim("task-fp", replaces=None), "claimed by the first worker"
        assert await second.claim("task-fp", replaces="job_refused"), "replacing a job is a claim of its own"
        await first.renew_leases()  # the heartbeat keeps the first worker's claim
        await anyio.sleep(0.2)
        assert not await second.claim("task-fp", replaces=None)
        await anyio.sleep(0.35)  # the first worker died: its claim lapses
        assert await second.claim("task-fp", replaces=None)
    finally:
        await first.aclose()
        await second.aclose()


async def test_a_duty_is_led_by_one_process_until_it_steps_down_or_its_lease_lapses(store_at: StoreLocation) -> None:
    first, second = await store_at.open(), await store_at.open()
    try:
        assert await first.lead("poller:acct", seconds=0.3) and await first.lead("poller:acct", seconds=0.3), (
            "taken, then kept"
        )
        assert not await second.lead("poller:acct", seconds=0.3) and await second.led_elsewhere("poller:acct")
        assert not await first.led_elsewhere("poller:acct")
        assert await second.lead("poller:other", seconds=0.3), "each duty has its own leader"
        await first.step_down("poller:acct")
        assert await second.lead("poller:acct", seconds=0.3), "free once its leader steps down"
        await anyio.sleep(0.35)
        assert not await first.led_elsewhere("poller:acct"), "a lease not kept lapses"
        assert await first.lead("poller:acct", seconds=0.3)
    finally:
        await first.aclose()
        await second.aclose()


async def test_asks_are_numbered_answered_once_and_forgotten(store_at: StoreLocation) -> None:
    asker, leader = await store_at.open(), await store_at.open()
    try:
        assert await asker.ask("acct", ["t1", "t2"]) == {"t1": 1, "t2": 1}
        await asker.ask("other", ["t9"])
        assert await leader.open_asks("acct") == {"t1": 1, "t2": 1}, "only the account's asks"
        assert await asker.ask("acct", ["t1"]) == {"t1": 2}, "asked again: a later number"
        await leader.answer({"t1": (1, '{"output": {"task_status": "RUNNING"}}'), "t2": (1, None)})
        answers = await asker.answers(["t1", "t2", "t3"])
        assert answers == {"t1": (1, '{"output": {"task_status": "RUNNING"}}'), "t2": (1, None)}
        assert await leader.open_asks("acct") == {"t1": 2}, "the later ask is still open"
        await leader.answer({"t1": (2, '{"output": {"task_status": "SUCCEEDED"}}')})
        await leader.answer({"t1": (1, "stale")})
        assert (await asker.answers(["t1"]))["t1"] == (2, '{"output": {"task_status": "SUCCEEDED"}}'), "never back"
        await asker.ask("acct", ["t2"])  # asked again: open
        await asker.forget_asks(["t1", "t2"])
        assert set(await asker.answers(["t1", "t2"])) == {"t2"}, "an open ask is another's: kept"
        await leader.answer({"t2": (2, None)})
        await asker.forget_asks(["t1"])
        assert await asker.ask("acct", ["t1"]) == {"t1": 1}, "a forgotten row starts again from 1"
        await leader.answer({"t1": (2, '{"output": {"task_status": "RUNNING"}}')})  # a late answer to the old row
        assert (await asker.answers(["t1"]))["t1"] == (0, None), "never ahead of the asks"
        await leader.forget_asks([], asked_before=time.time() + 1)
        assert await asker.answers(["t2", "t9"]) == {}, "stale asks dropped"
    finally:
        await asker.aclose()
        await leader.aclose()


async def test_a_budget_records_jobs_while_their_quotes_fit_and_counts_what_they_cost(store: JobStore) -> None:
    budget = Budget(limit_cny=10.0, since=time.time() - 1)
    first = await new_job(store, quoted_cny=3.0, budget=budget)
    second = await new_job(store, quoted_cny=6.0, budget=budget)
    assert await store.spending(since=budget.since) == Spending(budget.since, 9.0, 9.0)
    with pytest.raises(OverBudgetError, match=r"quoted 2 CNY, and 9 CNY of today's budget of 10 CNY") as refused:
        await new_job(store, quoted_cny=2.0, budget=budget)
    assert "BAILIAN_BUDGET_CNY" in str(refused.value) and len(await store.list()) == 2, "nothing recorded"
    await store.save_result(first, "SUCCEEDED", {"cost": {"amount": 1.5, "currency": "CNY", "basis": "1 image"}})
    await store.set_status(second, "FAILED")  # a failed task is not charged
    assert await store.spending(since=budget.since) == Spending(budget.since, 1.5, 0.0)
    parent = await new_job(store, quoted_cny=3.0, budget=budget, status="RUNNING")
    await new_job(store, parent_id=parent, part=0, quoted_cny=3.0)  # a part counts in its parent's quote
    assert (await store.spending(since=budget.since)).spent_cny == 4.5
    await new_job(store, quoted_cny=5.0, budget=budget)
    unpriced = await new_job(store, budget=budget, status="RUNNING")  # 9.5 of 10 spent: not used up yet
    await store.save_result(unpriced, "SUCCEEDED", {"cost": {"amount": 0.5, "currency": "CNY", "basis": "tokens"}})
    with pytest.raises(OverBudgetError, match="its price is not known before it is sent"):
        await new_job(store, budget=budget)
    assert (await store.spending(since=budget.since)).spent_cny == 10.0
    assert (await store.spending(since=time.time() + 1)).spent_cny == 0, "only the jobs of the day count"


async def test_a_budget_holds_however_many_processes_record_jobs_at_once(store_at: StoreLocation) -> None:
    stores = [await store_at.open(), await store_at.open()]
    budget = Budget(limit_cny=5.0, since=time.time() - 1)
    recorded, refused = [], []

    async def record(i: int) -> None:
        try:
            recorded.append(await new_job(stores[i % 2], quoted_cny=1.0, budget=budget))
        except OverBudgetError:
            refused.append(i)

    try:
        async with anyio.create_task_group() as group:
            for i in range(12):
                group.start_soon(record, i)
        assert len(recorded) == 5 and len(refused) == 7
        assert (await stores[0].spending(since=budget.since)).spent_cny == 5.0
    finally:
        for one in stores:
            await one.aclose()
