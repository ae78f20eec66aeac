"""Jobs as a whole against DashScope's own task list: a submission whose reply was lost finds its task when nothing
else can have created it, and only then; everything else listed is adopted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bailian_mcp.capabilities.base import BuildContext
from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE, TextToImageParams
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from bailian_mcp.emulator.faults import NO_FAULTS, EndpointFaults, FaultPlan
from bailian_mcp.jobs import admin as job_admin
from bailian_mcp.jobs.services import Services
from bailian_mcp.jobs.submission import SubmitUncertainError
from tests.support.services import make_settings, quick_services

LOST_REPLIES = FaultPlan(submit=EndpointFaults(reset_after=1.0))  # the task is made, its reply never arrives


@pytest.fixture
def emulator() -> Iterator[RunningEmulator]:
    config = EmulatorConfig(pending_seconds=0.01, running_seconds=0.05, submit_rps=0, faults=LOST_REPLIES)
    with start_in_thread(config) as running:
        yield running


@pytest.fixture
async def services(emulator: RunningEmulator, tmp_path: Path, clean_env: pytest.MonkeyPatch) -> AsyncIterator[Services]:
    async with quick_services(make_settings(tmp_path, emulator.base_url, image_submit_rps=0), attempts=2) as opened:
        yield opened


def params(prompt: str, model: str = "wan2.2-t2i-flash") -> TextToImageParams:
    return TextToImageParams(prompt=prompt, model=model, size="512*512", n=1)


async def lost_reply(services: Services, prompt: str, model: str = "wan2.2-t2i-flash") -> str:
    """The job id of a text_to_image call whose submission created a task but got no reply."""
    with pytest.raises(SubmitUncertainError) as raised:
        await services.runner.run(TEXT_TO_IMAGE, params(prompt, model), wait_seconds=5)
    (job,) = [job for job in await services.store.list(limit=100) if job.job_id in str(raised.value)]
    assert job.status == "SUBMIT_UNCERTAIN" and job.task_id is None and job.submitted_at is not None
    return job.job_id


def emulator_tasks(emulator: RunningEmulator) -> list[str]:
    return [task.task_id for task in emulator.state.tasks.tasks(emulator.state.now())]


def submissions(emulator: RunningEmulator) -> int:
    return sum(1 for r in emulator.state.requests if r["method"] == "POST" and "/services/" in r["path"])


async def test_get_task_finds_the_task_of_a_submission_whose_reply_was_lost(
    services: Services, emulator: RunningEmulator
) -> None:
    job_id = await lost_reply(services, "a lighthouse")
    emulator.state.faults.replace(NO_FAULTS)
    (task_id,) = emulator_tasks(emulator)

    result = await services.runner.resume(job_id, wait_seconds=10)

    assert result.status == "SUCCEEDED" and result.task_id == task_id and result.job_id == job_id
    assert result.outputs and all(output.path for output in result.outputs)
    job = await services.store.get(job_id)
    assert job is not None and job.task_id == task_id and job.error is None
    assert submissions(emulator) == 1  # found, never sent again
    assert [j.job_id for j in await services.store.list(limit=100)] == [job_id]  # nothing adopted beside it


async def test_list_tasks_gives_the_task_back_to_its_job_and_says_so(
    services: Services, emulator: RunningEmulator
) -> None:
    job_id = await lost_reply(services, "a lighthouse")
    emulator.state.faults.replace(NO_FAULTS)

    listing = await job_admin.list_jobs(services.store, services.client)

    assert listing.adopted == 0 and "Found the task of 1 job(s) whose submission got no reply" in listing.message
    (summary,) = listing.jobs
    assert summary.job_id == job_id and summary.task_id == emulator_tasks(emulator)[0] and not summary.adopted


async def test_two_lost_replies_of_one_model_are_not_guessed_apart(
    services: Services, emulator: RunningEmulator
) -> None:
    first, second = await lost_reply(services, "a lighthouse"), await lost_reply(services, "a harbour")
    emulator.state.faults.replace(NO_FAULTS)

    listing = await job_admin.list_jobs(services.store, services.client)

    assert listing.adopted == 2 and "Found the task" not in listing.message
    for job_id in (first, second):
        job = await services.store.get(job_id)
        assert job is not None and job.status == "SUBMIT_UNCERTAIN" and job.task_id is None
        unfinished = await services.runner.resume(job_id, wait_seconds=1)
        assert unfinished.status == "SUBMIT_UNCERTAIN" and "not re-sent" in unfinished.message
    assert submissions(emulator) == 2


async def test_a_lost_reply_finds_only_a_task_of_its_own_model(services: Services, emulator: RunningEmulator) -> None:
    job_id = await lost_reply(services, "a lighthouse", model="wan2.2-t2i-flash")
    emulator.state.faults.replace(NO_FAULTS)
    settings = services.settings
    elsewhere = TEXT_TO_IMAGE.build(
        params("a harbour", "wanx2.1-t2i-turbo"), BuildContext(settings.region, settings.allowed_input_roots)
    )  # made elsewhere with the same key, another model, meanwhile
    other = await services.client.submit(elsewhere.path, elsewhere.body, headers=elsewhere.headers)

    listing = await job_admin.list_jobs(services.store, services.client)

    assert listing.adopted == 1 and "Found the task of 1 job(s)" in listing.message
    job = await services.store.get(job_id)
    assert job is not None and job.task_id is not None and job.task_id != other.task_id
    adopted = await services.store.by_task(other.task_id)
    assert adopted is not None and adopted.fingerprint == "adopted"


async def test_a_reply_still_on_its_way_keeps_a_task_from_being_matched(
    services: Services, emulator: RunningEmulator
) -> None:
    job_id = await lost_reply(services, "a lighthouse")
    emulator.state.faults.replace(NO_FAULTS)
    (lost_task,) = emulator_tasks(emulator)
    in_flight = await services.store.create(
        capability="text_to_image", model="wan2.2-t2i-flash", base_url=emulator.base_url, params={}, request={}
    )
    assert await services.store.claim_sending(in_flight.job_id)  # sent, no reply yet: it may own the listed task too

    listing = await job_admin.list_jobs(services.store, services.client)

    assert listing.adopted == 1 and "Found the task" not in listing.message
    adopted = await services.store.by_task(lost_task)
    assert adopted is not None and adopted.fingerprint == "adopted"
    job = await services.store.get(job_id)
    assert job is not None and job.task_id is None
    # The reply arrives after all: the job that paid for the task takes it back from the adopted record.
    await services.store.attach_task(in_flight.job_id, lost_task, "SUCCEEDED")
    holders = [j.job_id for j in await services.store.list(limit=100) if j.task_id == lost_task]
    assert holders == [in_flight.job_id]


async def test_the_submission_that_made_a_task_takes_it_back_from_a_matched_job(services: Services) -> None:
    matched = await services.store.create(
        capability="text_to_image", model="wan2.2-t2i-flash", base_url="http://x", params={}, request={}
    )
    await services.store.attach_task(matched.job_id, "task-1", "SUCCEEDED")
    await services.store.save_result(matched.job_id, "SUCCEEDED", {"job_id": matched.job_id})
    owner = await services.store.create(
        capability="text_to_image", model="wan2.2-t2i-flash", base_url="http://x", params={}, request={}
    )

    await services.store.attach_task(owner.job_id, "task-1", "RUNNING")

    released = await services.store.get(matched.job_id)
    assert released is not None and released.task_id is None and released.result is None
    assert released.status == "SUBMIT_UNCERTAIN" and released.error is not None
    taken = await services.store.get(owner.job_id)
    assert taken is not None and taken.task_id == "task-1" and taken.status == "RUNNING"
