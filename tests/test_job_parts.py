"""A job made of several DashScope tasks (several files on a model that takes one per task): each part is recorded
before it is sent and sent once, the parts are followed together and come back as one result in order, a restart
sends only the parts never sent, a refusal stops the parts after it, and cancelling the job cancels its parts."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from typing import Any

import anyio
import httpx
import pytest
import respx

from bailian_mcp.capabilities.speech_to_text import SPEECH_TO_TEXT, SpeechToTextParams
from bailian_mcp.config import Settings
from bailian_mcp.dashscope import errors
from bailian_mcp.jobs import admin
from bailian_mcp.jobs.services import Services
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from tests.support.services import quick_services

BASE = "https://dashscope.test/api/v1"
SUBMIT_PATH = "/services/audio/asr/transcription"
RESULT_HOST = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com"
FILES = [f"https://example.com/meeting-{n}.wav" for n in range(3)]
MODEL = "qwen3-asr-flash-filetrans"


def transcript(file_url: str) -> dict[str, Any]:
    text = f"said in {file_url.rsplit('/', 1)[-1]}"
    sentence = {"begin_time": 0, "end_time": 900, "text": text, "sentence_id": 1}
    return {"file_url": file_url, "transcripts": [{"channel_id": 0, "text": text, "sentences": [sentence]}]}


class FakeService:
    """DashScope's transcription endpoint for one-file tasks: a task per POST, named after its file; each poll
    answers `statuses[task]` (SUCCEEDED unless set); `refuse` maps a file to the 400 its POST gets."""

    def __init__(self, router: respx.MockRouter, settings: Settings) -> None:
        self.settings = settings
        self.sent: list[str] = []
        self.on_record_at_send: list[list[tuple[int, str | None, bool]]] = []
        self.statuses: dict[str, str] = {}
        self.refuse: set[str] = set()
        self.cancelled: list[str] = []
        router.post(SUBMIT_PATH).mock(side_effect=self.submit)
        router.get(url__regex=r"/tasks/task-\d$").mock(side_effect=self.poll)
        router.post(url__regex=r"/tasks/task-\d/cancel$").mock(side_effect=self.cancel)
        for n in range(len(FILES)):
            router.get(f"{RESULT_HOST}/task-{n}.json").mock(side_effect=self.transcript)

    def parts_on_disk(self) -> list[tuple[int, str | None, bool]]:
        """(part, task id, sent) of every recorded part, as another process would read them now."""
        with closing(sqlite3.connect(self.settings.job_db_path)) as db:
            rows = db.execute("SELECT part, task_id, submitted_at FROM jobs WHERE parent_id IS NOT NULL ORDER BY part")
            return [(part, task, sent is not None) for part, task, sent in rows]

    def submit(self, request: httpx.Request) -> httpx.Response:
        file_url = json.loads(request.content)["input"]["file_url"]
        self.on_record_at_send.append(self.parts_on_disk())
        if file_url in self.refuse:
            return httpx.Response(400, json={"code": "InvalidParameter", "message": "bad file", "request_id": "r"})
        self.sent.append(file_url)
        task_id = f"task-{FILES.index(file_url)}"
        self.statuses.setdefault(task_id, "SUCCEEDED")
        return httpx.Response(200, json={"output": {"task_id": task_id, "task_status": "PENDING"}, "request_id": "r"})

    def poll(self, request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.rsplit("/", 1)[-1]
        output: dict[str, Any] = {"task_id": task_id, "task_status": self.statuses[task_id]}
        if output["task_status"] == "SUCCEEDED":
            output["result"] = {"transcription_url": f"{RESULT_HOST}/{task_id}.json?Expires=1900000000"}
            output["end_time"] = "2026-12-07 18:00:00.000"
        return httpx.Response(200, json={"output": output, "usage": {"seconds": 3}, "request_id": "r"})

    def cancel(self, request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.split("/")[-2]
        if self.statuses[task_id] != "PENDING":
            return httpx.Response(400, json={"code": "UnsupportedOperation", "message": "not pending"})
        self.cancelled.append(task_id)
        self.statuses[task_id] = "CANCELED"
        return httpx.Response(200, json={"request_id": "r"})

    def transcript(self, request: httpx.Request) -> httpx.Response:
        task_id = request.url.path.rsplit("/", 1)[-1].removesuffix(".json")
        return httpx.Response(200, json=transcript(FILES[int(task_id.split("-")[1])]))


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with quick_services(settings, attempts=1) as opened:
        yield opened


@pytest.fixture
def service(settings: Settings) -> Iterator[FakeService]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield FakeService(router, settings)


def params(files: list[str] = FILES) -> SpeechToTextParams:
    return SpeechToTextParams(audio=files, model=MODEL)


async def test_each_part_is_recorded_before_it_is_sent_and_the_parts_come_back_as_one_result_in_order(
    services: Services, service: FakeService
) -> None:
    result = await services.runner.run(SPEECH_TO_TEXT, params(), wait_seconds=10)
    assert service.sent == FILES
    # At each POST, its own part is on record as being sent, and the parts before it hold their tasks.
    assert service.on_record_at_send == [
        [(0, None, True)],
        [(0, "task-0", True), (1, None, True)],
        [(0, "task-0", True), (1, "task-1", True), (2, None, True)],
    ]
    assert result.done and result.status == "SUCCEEDED" and result.task_id is None
    assert result.task_ids == ["task-0", "task-1", "task-2"]
    assert [(o.index, o.source, o.text) for o in result.outputs] == [
        (n, url, f"said in meeting-{n}.wav") for n, url in enumerate(FILES)
    ]
    assert result.text == "\n".join(f"said in meeting-{n}.wav" for n in range(3))
    assert result.usage == {"seconds": 9.0}
    stored = await services.runner.resume(result.job_id, wait_seconds=0)
    assert stored == result and len(service.sent) == 3
    listed = await admin.list_jobs(services.store, services.client, include_remote=False)
    assert [job.job_id for job in listed.jobs] == [result.job_id], "its tasks are not listed apart from it"


async def test_parts_still_running_come_back_as_a_handle_that_resume_finishes(
    services: Services, service: FakeService
) -> None:
    service.statuses["task-1"] = "RUNNING"
    waiting = await services.runner.run(SPEECH_TO_TEXT, params(), wait_seconds=0.2)
    assert not waiting.done and waiting.status == "RUNNING" and waiting.next_step == "resume"
    assert "2 of 3 tasks finished" in waiting.message and waiting.task_ids == ["task-0", "task-1", "task-2"]
    service.statuses["task-1"] = "SUCCEEDED"
    finished = await services.runner.resume(waiting.job_id, wait_seconds=5)
    assert finished.done and [o.text for o in finished.outputs][1] == "said in meeting-1.wav"
    assert len(service.sent) == 3, "resuming sends nothing again"


async def test_a_part_refused_is_an_output_with_its_error_and_the_parts_after_it_are_not_sent(
    services: Services, service: FakeService
) -> None:
    service.refuse.add(FILES[1])
    result = await services.runner.run(SPEECH_TO_TEXT, params(), wait_seconds=10)
    assert service.sent == [FILES[0]]
    assert result.done and result.status == "SUCCEEDED" and not result.complete
    first, refused, unsent = result.outputs
    assert first.text and first.error is None
    assert refused.source == FILES[1] and refused.error is not None and refused.error.code == "InvalidParameter"
    assert unsent.source == FILES[2] and unsent.error is not None and unsent.error.code == "NotSent"
    assert "2 of 3 failed" in result.message
    again = await services.runner.resume(result.job_id, wait_seconds=0)
    assert again == result and service.sent == [FILES[0]], "a part refused or held back is never sent later"


async def test_when_the_first_part_is_refused_the_error_is_raised_and_nothing_else_is_sent(
    services: Services, service: FakeService, settings: Settings
) -> None:
    service.refuse.add(FILES[0])
    with pytest.raises(errors.InvalidRequestError, match="bad file"):
        await services.runner.run(SPEECH_TO_TEXT, params(), wait_seconds=10)
    assert service.sent == [] and len(service.on_record_at_send) == 1
    (parent,) = await services.store.list()
    assert parent.status == "REJECTED" and parent.error is not None and parent.error["code"] == "InvalidParameter"


async def test_after_a_stop_between_parts_resume_sends_only_the_parts_never_sent(
    services: Services, service: FakeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    create = services.store.create

    async def stop_at_the_third_part(**record: Any) -> Any:
        if record.get("part") == 2:
            raise KeyboardInterrupt  # the process stops before the third part is recorded
        return await create(**record)

    monkeypatch.setattr(services.store, "create", stop_at_the_third_part)
    with pytest.raises(KeyboardInterrupt):
        await services.runner.run(SPEECH_TO_TEXT, params(), wait_seconds=10)
    monkeypatch.undo()
    assert service.sent == FILES[:2]
    (parent,) = await services.store.list()
    result = await services.runner.resume(parent.job_id, wait_seconds=10)
    assert service.sent == FILES, "the first two are not sent again"
    assert result.done and [o.source for o in result.outputs] == FILES


async def test_a_part_recorded_but_not_yet_sent_is_sent_once_however_many_resume_it(
    services: Services, service: FakeService, settings: Settings
) -> None:
    service.statuses["task-0"] = "RUNNING"
    waiting = await services.runner.run(SPEECH_TO_TEXT, params(FILES[:2]), wait_seconds=0)
    with closing(sqlite3.connect(settings.job_db_path)) as db, db:  # as if stopped between recording and sending
        db.execute("UPDATE jobs SET task_id = NULL, submitted_at = NULL, status = 'SUBMITTING' WHERE part = 1")
    service.sent.remove(FILES[1])
    service.statuses["task-0"] = "SUCCEEDED"
    results: list[Any] = []

    async def resume() -> None:
        results.append(await services.runner.resume(waiting.job_id, wait_seconds=5))

    async with anyio.create_task_group() as group:
        for _ in range(3):
            group.start_soon(resume)
    assert service.sent == FILES[:2], "sent once"
    assert any(r.done and r.status == "SUCCEEDED" for r in results)


async def test_cancelling_the_job_cancels_its_pending_parts_and_the_unsent_ones_are_never_sent(
    services: Services, service: FakeService, settings: Settings
) -> None:
    for n in range(3):
        service.statuses[f"task-{n}"] = "PENDING"
    service.statuses["task-1"] = "RUNNING"
    waiting = await services.runner.run(SPEECH_TO_TEXT, params(), wait_seconds=0)
    outcome = await admin.cancel_job(services.store, services.client, waiting.job_id)
    assert service.cancelled == ["task-0", "task-2"]
    assert not outcome.done and outcome.next_step == "resume" and "2 of 3 tasks cancelled" in outcome.message
    service.statuses["task-1"] = "SUCCEEDED"
    result = await services.runner.resume(waiting.job_id, wait_seconds=5)
    assert result.done and [o.error.code if o.error else "ok" for o in result.outputs] == ["Canceled", "ok", "Canceled"]


async def test_cancelling_a_job_whose_parts_are_all_pending_ends_it(services: Services, service: FakeService) -> None:
    for n in range(2):
        service.statuses[f"task-{n}"] = "PENDING"
    waiting = await services.runner.run(SPEECH_TO_TEXT, params(FILES[:2]), wait_seconds=0)
    outcome = await admin.cancel_job(services.store, services.client, waiting.job_id)
    assert outcome.done and outcome.status == "CANCELED" and outcome.task_ids == ["task-0", "task-1"]
    job = await services.store.get(waiting.job_id)
    assert job is not None and job.status == "CANCELED"


async def test_a_send_is_claimed_once(settings: Settings) -> None:
    store = SQLiteJobStore(settings.job_db_path)
    try:
        job = await store.create(capability="speech_to_text", model=MODEL, base_url=BASE, params={}, request={})
        assert await store.claim_sending(job.job_id)
        assert not await store.claim_sending(job.job_id)
    finally:
        store.close()


def test_an_older_store_gains_the_part_columns(settings: Settings) -> None:
    settings.job_db_path.parent.mkdir(parents=True, exist_ok=True)
    with closing(sqlite3.connect(settings.job_db_path)) as db, db:
        db.execute(
            "CREATE TABLE jobs (job_id TEXT PRIMARY KEY, capability TEXT NOT NULL, model TEXT NOT NULL, status TEXT"
            " NOT NULL, task_id TEXT UNIQUE, base_url TEXT NOT NULL, params_json TEXT NOT NULL, request_json TEXT NOT"
            " NULL, fingerprint TEXT, created_at REAL NOT NULL, submitted_at REAL, updated_at REAL NOT NULL,"
            " finished_at REAL, result_json TEXT, error_json TEXT)"
        )
        db.execute(
            "INSERT INTO jobs VALUES ('job_old', 'text_to_image', 'wan2.2-t2i-flash', 'SUCCEEDED', 't', ?, '{}', '{}',"
            " NULL, 1, 1, 1, 1, NULL, NULL)",
            (BASE,),
        )
    store = SQLiteJobStore(settings.job_db_path)
    try:
        (old,) = anyio.run(store.list)
        assert old.job_id == "job_old" and old.parent_id is None and old.part_count == 0
    finally:
        store.close()
