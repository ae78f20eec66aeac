"""The life of a job: validate, record, submit once, follow, save, price — and pick it up again later."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import respx

from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE, TextToImageParams
from bailian_mcp.config import Settings
from bailian_mcp.dashscope import errors
from bailian_mcp.errors import ConfigurationError, InputError
from bailian_mcp.jobs.admin import cancel_job
from bailian_mcp.jobs.results import JobResult
from bailian_mcp.jobs.services import Services, open_services
from bailian_mcp.jobs.store_sqlite import SQLiteJobStore
from bailian_mcp.jobs.submission import SubmitUncertainError
from tests.support.media import png_bytes
from tests.support.services import quick_services

BASE = "https://dashscope.test/api/v1"
SUBMIT_PATH = "/services/aigc/text2image/image-synthesis"
TASK_ID = "9e2b6ef6-285d-4efa-8651-4dbda7d571fa"
RESULT_HOST = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com"
SUBMIT_TIME = "2024-03-01 17:38:24.817"
END_TIME = "2024-03-01 17:38:55.565"


IMAGES = {
    f"{RESULT_HOST}/1d/{TASK_ID}-0.png": png_bytes(64, 48),
    f"{RESULT_HOST}/1d/{TASK_ID}-1.png": png_bytes(40, 40, (250, 0, 0)),
}
URLS = list(IMAGES)


def submitted() -> httpx.Response:
    return httpx.Response(200, json={"output": {"task_status": "PENDING", "task_id": TASK_ID}, "request_id": "r0"})


def task(status: str, usage: dict[str, Any] | None = None, **output: Any) -> httpx.Response:
    body: dict[str, Any] = {
        "request_id": f"r-{status.lower()}",
        "output": {"task_id": TASK_ID, "task_status": status, "submit_time": SUBMIT_TIME, **output},
    }
    if usage is not None:
        body["usage"] = usage
    return httpx.Response(200, json=body)


def succeeded(results: list[dict[str, Any]], image_count: int) -> httpx.Response:
    return task("SUCCEEDED", {"image_count": image_count}, end_time=END_TIME, results=results)


def two_images() -> httpx.Response:
    results = [
        {"orig_prompt": "a cat", "actual_prompt": "a fluffy cat", "url": url + "?Expires=1709372335"} for url in URLS
    ]
    return succeeded(results, 2)


def params(**overrides: Any) -> TextToImageParams:
    return TextToImageParams(**{"prompt": "a cat", "n": 2, **overrides})


def jobs_on_disk(settings: Settings) -> list[tuple[str, str | None]]:
    """What another process would read from the job store right now."""
    with closing(sqlite3.connect(settings.job_db_path)) as db:
        return [(row[0], row[1]) for row in db.execute("SELECT status, task_id FROM jobs")]


@pytest.fixture
async def services(settings: Settings) -> AsyncIterator[Services]:
    async with quick_services(settings) as opened:
        yield opened


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def serve_images(mock: respx.MockRouter) -> dict[str, respx.Route]:
    return {
        url: mock.get(url).mock(return_value=httpx.Response(200, content=data, headers={"content-type": "image/png"}))
        for url, data in IMAGES.items()
    }


def assert_saved(result: JobResult, settings: Settings) -> None:
    for output, (url, data) in zip(result.outputs, IMAGES.items(), strict=True):
        assert output.url is not None and output.url.startswith(url)
        assert output.path is not None
        path = Path(output.path)
        assert path.read_bytes() == data
        assert path.name == f"{result.job_id}-{output.index}.png"
        assert settings.output_dir in path.parents
        assert output.sha256 == hashlib.sha256(data).hexdigest() and output.bytes == len(data)
        assert output.mime_type == "image/png"
    assert [(o.width, o.height) for o in result.outputs] == [(64, 48), (40, 40)]


# ---------------------------------------------------------------------- the happy path


async def test_a_job_is_recorded_before_submit_followed_to_success_saved_and_priced(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    seen: list[tuple[str, list[tuple[str, str | None]]]] = []
    replies = iter([task("PENDING"), task("RUNNING"), two_images()])

    def on_submit(request: httpx.Request) -> httpx.Response:
        seen.append(("POST", jobs_on_disk(settings)))
        return submitted()

    def on_poll(request: httpx.Request) -> httpx.Response:
        seen.append(("GET", jobs_on_disk(settings)))
        return next(replies)

    post = mock.post(SUBMIT_PATH).mock(side_effect=on_submit)
    mock.get(f"/tasks/{TASK_ID}").mock(side_effect=on_poll)
    downloads = serve_images(mock)
    progress: list[tuple[float, str]] = []

    async def report(value: float, message: str) -> None:
        progress.append((value, message))

    result = await services.runner.run(TEXT_TO_IMAGE, params(seed=42), wait_seconds=10, progress=report)

    assert seen == [
        ("POST", [("SUBMITTING", None)]),
        ("GET", [("PENDING", TASK_ID)]),
        ("GET", [("PENDING", TASK_ID)]),
        ("GET", [("RUNNING", TASK_ID)]),
    ]
    assert post.call_count == 1 and all(route.call_count == 1 for route in downloads.values())
    sent = post.calls.last.request
    assert sent.headers["X-DashScope-Async"] == "enable" and sent.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(sent.content) == {
        "model": "wan2.2-t2i-flash",
        "input": {"prompt": "a cat"},
        "parameters": {"size": "1024*1024", "n": 2, "prompt_extend": True, "watermark": False, "seed": 42},
    }

    assert result.done and result.status == "SUCCEEDED" and result.error is None
    assert result.job_id.startswith("job_") and result.task_id == TASK_ID
    assert result.capability == "text_to_image" and result.model == "wan2.2-t2i-flash"
    assert result.submitted_at == SUBMIT_TIME and result.finished_at == END_TIME
    assert_saved(result, settings)
    assert [o.actual_prompt for o in result.outputs] == ["a fluffy cat"] * 2
    assert all(o.url_expires_at == "2024-03-02T09:38:55Z" for o in result.outputs)
    assert result.usage == {"image_count": 2.0}
    assert result.cost is not None
    assert result.cost.amount == pytest.approx(2 * 0.14) and result.cost.currency == "CNY"
    assert result.cost.basis == "2 images × 0.14 CNY/image"
    assert "Generated 2 image(s), saved 2 locally." in result.message

    job = await services.store.get(result.job_id)
    assert job is not None
    assert job.status == "SUCCEEDED" and job.task_id == TASK_ID and job.finished_at is not None
    assert job.result == result.model_dump(mode="json")
    assert job.request == json.loads(sent.content)
    assert job.params["prompt"] == "a cat" and job.params["seed"] == 42
    assert job.base_url == BASE

    values = [value for value, _ in progress]
    assert values == sorted(set(values)), "progress strictly increases"
    assert progress[0][1] == f"Submitted task {TASK_ID} (PENDING)."
    assert any("Saving image 2 of 2" in message for _, message in progress)


async def test_qwen_image_costs_its_own_price(services: Services, mock: respx.MockRouter) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=succeeded([{"url": URLS[0]}], 1))
    serve_images(mock)
    result = await services.runner.run(TEXT_TO_IMAGE, params(model="qwen-image", n=1), wait_seconds=5)
    assert result.cost is not None and result.cost.amount == pytest.approx(0.25)


async def test_a_long_prompt_warning_is_part_of_the_result(services: Services, mock: respx.MockRouter) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=succeeded([{"url": URLS[0]}], 1))
    serve_images(mock)
    result = await services.runner.run(TEXT_TO_IMAGE, params(prompt="x" * 600, n=1), wait_seconds=5)
    assert any("600" in w and "500" in w for w in result.warnings)


# ---------------------------------------------------------------------- bounded waits and resume


async def test_a_task_still_running_at_the_deadline_comes_back_as_a_handle_that_resume_finishes(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    post = mock.post(SUBMIT_PATH).mock(return_value=submitted())
    poll = mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("RUNNING"))
    downloads = serve_images(mock)

    started = anyio.current_time()
    handle = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=0.1)
    assert anyio.current_time() - started < 2

    assert not handle.done and handle.status == "RUNNING"
    assert handle.job_id in handle.message and handle.next_step == "resume"
    assert handle.task_id == TASK_ID and handle.outputs == [] and handle.cost is None
    assert poll.call_count >= 1 and all(route.call_count == 0 for route in downloads.values())
    job = await services.store.get(handle.job_id)
    assert job is not None and job.status == "RUNNING" and job.result is None and job.finished_at is None

    poll.mock(return_value=two_images())
    finished = await services.runner.resume(handle.job_id, wait_seconds=5)
    assert finished.done and finished.status == "SUCCEEDED" and finished.job_id == handle.job_id
    assert_saved(finished, settings)
    assert finished.cost is not None and finished.cost.amount == pytest.approx(0.28)
    assert post.call_count == 1, "resuming never submits again"
    job = await services.store.get(handle.job_id)
    assert job is not None and job.status == "SUCCEEDED" and job.result == finished.model_dump(mode="json")


async def test_resume_accepts_the_dashscope_task_id_too(services: Services, mock: respx.MockRouter) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    poll = mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("PENDING"))
    handle = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=0)
    assert not handle.done and handle.status == "PENDING"
    poll.mock(return_value=task("FAILED", code="InternalError.Timeout", message="too slow"))
    finished = await services.runner.resume(f"  {TASK_ID} ", wait_seconds=5)
    assert finished.job_id == handle.job_id and finished.status == "FAILED"


async def test_a_finished_job_is_returned_from_the_store_without_asking_dashscope(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    poll = mock.get(f"/tasks/{TASK_ID}").mock(return_value=two_images())
    downloads = serve_images(mock)
    first = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    calls = poll.call_count
    again = await services.runner.resume(first.job_id, wait_seconds=5)
    assert again == first
    assert poll.call_count == calls and all(route.call_count == 1 for route in downloads.values())


async def test_resume_of_a_finished_job_whose_file_was_deleted_downloads_it_again(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    poll = mock.get(f"/tasks/{TASK_ID}").mock(return_value=two_images())
    downloads = serve_images(mock)
    first = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert first.outputs[0].path is not None
    Path(first.outputs[0].path).unlink()
    calls = poll.call_count

    repaired = await services.runner.resume(first.job_id, wait_seconds=5)

    assert downloads[URLS[0]].call_count == 2
    assert poll.call_count == calls, "the stored result is enough; the task is not polled again"
    assert_saved(repaired, settings)
    assert repaired.status == "SUCCEEDED" and repaired.done
    job = await services.store.get(first.job_id)
    assert job is not None and job.result == repaired.model_dump(mode="json")


async def test_a_deleted_file_that_cannot_be_saved_again_is_reported_missing_not_saved(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=two_images())
    downloads = serve_images(mock)
    first = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert first.outputs[0].path is not None
    Path(first.outputs[0].path).unlink()
    downloads[URLS[0]].mock(return_value=httpx.Response(403))  # the URL has expired

    repaired = await services.runner.resume(first.job_id, wait_seconds=5)

    gone, kept = repaired.outputs
    assert gone.path is None and gone.bytes is None and gone.url is not None, "missing, with its URL"
    assert kept.path is not None and Path(kept.path).is_file()
    assert any("saved file is gone" in warning for warning in repaired.warnings)


async def test_resume_downloads_only_the_missing_files(services: Services, mock: respx.MockRouter) -> None:
    # Runner._repair: "A finished job's stored result, with any missing local file downloaded again."
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=two_images())
    downloads = serve_images(mock)
    first = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert first.outputs[0].path is not None
    Path(first.outputs[0].path).unlink()
    downloads[URLS[1]].mock(return_value=httpx.Response(403))  # a day later its URL has expired; the file is fine

    repaired = await services.runner.resume(first.job_id, wait_seconds=5)

    assert downloads[URLS[0]].call_count == 2
    assert downloads[URLS[1]].call_count == 1, "a file still on disk is not fetched again"
    assert repaired.warnings == [], "no warning about a file that is safely on disk"


async def test_a_file_that_could_not_be_saved_is_a_warning_and_resume_saves_it_later(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=two_images())
    downloads = serve_images(mock)
    downloads[URLS[1]].mock(return_value=httpx.Response(404))

    first = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert first.done and first.status == "SUCCEEDED"
    assert first.outputs[0].path is not None and first.outputs[1].path is None
    assert first.outputs[1].url is not None and first.outputs[1].url.startswith(URLS[1])
    assert any(w.startswith("Could not save image 1") for w in first.warnings)

    downloads[URLS[1]].mock(return_value=httpx.Response(200, content=IMAGES[URLS[1]]))
    repaired = await services.runner.resume(first.job_id, wait_seconds=5)
    assert_saved(repaired, settings)
    assert not any(w.startswith("Could not save") for w in repaired.warnings)


async def test_resume_of_an_unknown_handle_is_an_input_error(services: Services, mock: respx.MockRouter) -> None:
    any_request = mock.route()
    with pytest.raises(InputError) as caught:
        await services.runner.resume("job_0000000000000000", wait_seconds=1)
    assert caught.value.param == "task_id" and caught.value.value == "job_0000000000000000"
    assert any_request.call_count == 0


# ---------------------------------------------------------------------- tasks that end badly


async def test_a_failed_task_is_a_failed_job_with_the_services_error(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(
        return_value=task("FAILED", code="InvalidParameter", message="The size is not match", end_time=END_TIME)
    )
    result = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert result.done and result.status == "FAILED"
    assert result.error is not None
    assert result.error.code == "InvalidParameter" and result.error.message == "The size is not match"
    assert f"Task {TASK_ID} FAILED with InvalidParameter" in result.message
    assert result.outputs == [] and result.cost is None
    job = await services.store.get(result.job_id)
    assert job is not None and job.status == "FAILED" and job.finished_at is not None
    assert job.result is not None and job.result["error"]["code"] == "InvalidParameter"
    assert not settings.output_dir.exists() or not any(settings.output_dir.rglob("*.png"))


async def test_a_task_failed_on_content_inspection_says_to_change_the_prompt(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(
        return_value=task(
            "FAILED", code="DataInspectionFailed", message="Output data may contain inappropriate content."
        )
    )
    result = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert result.status == "FAILED" and "change the prompt" in result.message


async def test_an_unknown_task_is_an_unknown_job_that_says_tasks_expire(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(
        return_value=httpx.Response(
            200, json={"request_id": "r", "output": {"task_id": TASK_ID, "task_status": "UNKNOWN"}}
        )
    )
    result = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert result.done and result.status == "UNKNOWN"
    assert result.error is not None and result.error.code == "TaskUnknown"
    assert "24 hours" in result.message
    job = await services.store.get(result.job_id)
    assert job is not None and job.status == "UNKNOWN" and job.finished_at is not None


async def test_a_task_cancelled_elsewhere_is_a_canceled_job(services: Services, mock: respx.MockRouter) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("CANCELED"))
    result = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert result.done and result.status == "CANCELED"
    assert "nothing was generated or charged" in result.message


async def test_a_partial_failure_keeps_the_good_images_and_charges_only_them(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(
        return_value=succeeded(
            [
                {"url": URLS[0]},
                {"code": "InternalError.Timeout", "message": "An internal timeout error has occured"},
            ],
            1,
        )
    )
    serve_images(mock)
    result = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert result.done and result.status == "SUCCEEDED"
    good, bad = result.outputs
    assert good.error is None and good.path is not None and Path(good.path).read_bytes() == IMAGES[URLS[0]]
    assert (good.width, good.height) == (64, 48)
    assert bad.path is None and bad.url is None
    assert bad.error is not None and bad.error.code == "InternalError.Timeout"
    assert result.cost is not None and result.cost.amount == pytest.approx(0.14)
    assert "1 of 2 failed" in result.message and "InternalError.Timeout" in result.message


async def test_a_status_that_cannot_be_read_leaves_a_handle_not_an_error(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    poll = mock.get(f"/tasks/{TASK_ID}").mock(
        return_value=httpx.Response(500, json={"code": "InternalError", "message": "boom", "request_id": "r"})
    )
    result = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert not result.done and result.status == "PENDING"
    assert result.job_id in result.message and result.next_step == "resume"
    assert poll.call_count == 3, "a poll is retried within the retry policy"
    job = await services.store.get(result.job_id)
    assert job is not None and job.status == "PENDING" and job.task_id == TASK_ID


# ---------------------------------------------------------------------- submission: never twice


async def test_a_submit_refused_with_400_is_a_rejected_job_and_the_error_is_raised(
    services: Services, mock: respx.MockRouter
) -> None:
    post = mock.post(SUBMIT_PATH).mock(
        return_value=httpx.Response(
            400, json={"code": "InvalidParameter", "message": "num_images_per_prompt must be 1.", "request_id": "r4"}
        )
    )
    poll = mock.get(f"/tasks/{TASK_ID}")
    with pytest.raises(errors.InvalidRequestError) as caught:
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert "num_images_per_prompt must be 1." in str(caught.value)
    assert post.call_count == 1 and poll.call_count == 0
    [job] = await services.store.list()
    assert job.status == "REJECTED" and job.task_id is None and job.finished_at is not None
    assert job.error is not None and job.error["code"] == "InvalidParameter"

    again = await services.runner.resume(job.job_id, wait_seconds=1)
    assert again.done and again.status == "REJECTED" and "nothing was created or charged" in again.message


async def test_a_submit_that_timed_out_is_uncertain_and_sent_exactly_once(
    services: Services, mock: respx.MockRouter
) -> None:
    post = mock.post(SUBMIT_PATH).mock(side_effect=httpx.ReadTimeout("no reply"))
    poll = mock.get(f"/tasks/{TASK_ID}")
    with pytest.raises(SubmitUncertainError) as caught:
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert post.call_count == 1 and poll.call_count == 0
    [job] = await services.store.list()
    assert job.status == "SUBMIT_UNCERTAIN" and job.task_id is None and job.finished_at is None
    assert job.job_id in str(caught.value) and "SUBMIT_UNCERTAIN" in str(caught.value)
    assert job.error is not None

    listing = mock.get("/tasks").mock(return_value=httpx.Response(200, json={"data": [], "total_page": 1}))
    again = await services.runner.resume(job.job_id, wait_seconds=1)
    assert again.status == "SUBMIT_UNCERTAIN" and "not re-sent" in again.message
    assert post.call_count == 1
    assert listing.call_count == 1  # it looked in DashScope's task list for the task the POST may have created


async def test_a_submit_that_could_not_connect_is_retried_and_then_rejected(
    services: Services, mock: respx.MockRouter
) -> None:
    post = mock.post(SUBMIT_PATH).mock(side_effect=httpx.ConnectError("refused"))
    with pytest.raises(errors.DashScopeConnectionError) as caught:
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert not caught.value.request_sent
    assert post.call_count == 3
    [job] = await services.store.list()
    assert job.status == "REJECTED"


async def test_a_throttled_submit_is_retried_and_the_job_goes_on(services: Services, mock: respx.MockRouter) -> None:
    throttled = httpx.Response(429, json={"code": "Throttling.RateQuota", "message": "slow down", "request_id": "r"})
    post = mock.post(SUBMIT_PATH).mock(side_effect=[throttled, submitted()])
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("FAILED", code="X", message="y"))
    result = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert post.call_count == 2 and result.task_id == TASK_ID
    assert len(await services.store.list()) == 1


# ---------------------------------------------------------------------- the caller gives up


async def test_cancelling_the_caller_while_the_task_is_pending_cancels_it_on_dashscope(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("PENDING"))
    cancel = mock.post(f"/tasks/{TASK_ID}/cancel").mock(return_value=httpx.Response(200, json={"request_id": "rc"}))
    with anyio.move_on_after(0.15) as scope:
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=30)
    assert scope.cancelled_caught
    assert cancel.call_count == 1
    assert cancel.calls.last.request.headers["Authorization"] == "Bearer sk-test"
    [job] = await services.store.list()
    assert job.status == "CANCELED" and job.task_id == TASK_ID and job.finished_at is not None


async def test_cancelling_the_caller_while_the_task_runs_leaves_it_running(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("RUNNING"))
    cancel = mock.post(f"/tasks/{TASK_ID}/cancel")
    with anyio.move_on_after(0.3):
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=30)
    assert cancel.call_count == 0
    [job] = await services.store.list()
    assert job.status == "RUNNING"


async def test_a_pending_task_that_refuses_cancellation_keeps_its_status(
    services: Services, mock: respx.MockRouter
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("PENDING"))
    cancel = mock.post(f"/tasks/{TASK_ID}/cancel").mock(
        return_value=httpx.Response(
            400,
            json={"code": "UnsupportedOperation", "message": "Failed to cancel the task", "request_id": "r"},
        )
    )
    with anyio.move_on_after(0.3):
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=30)
    assert cancel.call_count == 1
    [job] = await services.store.list()
    assert job.status == "PENDING"


async def test_a_cancel_resent_after_its_reply_was_lost_is_refused_yet_reports_the_task_cancelled(
    services: Services, mock: respx.MockRouter
) -> None:
    """The first cancel worked but its reply was lost; the resent one is refused with a body nobody can read."""
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    states = iter(["PENDING", "CANCELED"])
    mock.get(f"/tasks/{TASK_ID}").mock(side_effect=lambda request: task(next(states)))
    cancel = mock.post(f"/tasks/{TASK_ID}/cancel").mock(
        side_effect=[httpx.ReadError("reset"), httpx.Response(400, content=b'{"request_id": "\xff<html>502')]
    )
    handle = await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=0)
    answer = await cancel_job(services.store, services.client, handle.job_id)
    assert cancel.call_count == 2
    assert answer.status == "CANCELED" and answer.done and "nothing was generated" in answer.message
    [job] = await services.store.list()
    assert job.status == "CANCELED"


async def test_cancelling_the_caller_during_submit_waits_for_the_task_id_then_cancels_it(
    services: Services, mock: respx.MockRouter
) -> None:
    arrived: list[httpx.Request] = []

    async def slow_submit(request: httpx.Request) -> httpx.Response:
        arrived.append(request)
        await anyio.sleep(0.6)
        return submitted()

    mock.post(SUBMIT_PATH).mock(side_effect=slow_submit)
    cancel = mock.post(f"/tasks/{TASK_ID}/cancel").mock(return_value=httpx.Response(200, json={"request_id": "r"}))
    with anyio.move_on_after(0.3) as scope:
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=30)
    assert scope.cancelled_caught
    assert len(arrived) == 1 and cancel.call_count == 1  # never re-sent; the created task is not left behind
    [job] = await services.store.list()
    assert job.task_id == TASK_ID and job.status == "CANCELED"


# ---------------------------------------------------------------------- refused before anything is sent


@pytest.mark.parametrize(
    "bad",
    [
        {"model": "qwen-image", "n": 2},
        {"model": "qwen-image", "size": "1024*1024", "n": 1},
        {"size": "1441*1024"},
        {"model": "wanx2.2-t2i-flash"},
        {"prompt": "   "},
    ],
)
async def test_an_input_error_is_raised_before_any_request_and_no_job_is_recorded(
    services: Services, mock: respx.MockRouter, bad: dict[str, Any]
) -> None:
    any_request = mock.route()
    with pytest.raises(InputError):
        await services.runner.run(TEXT_TO_IMAGE, params(**bad), wait_seconds=5)
    assert any_request.call_count == 0
    assert await services.store.list() == []


async def test_a_model_not_offered_in_the_region_is_refused_before_any_request(settings: Settings) -> None:
    singapore = settings.model_copy(update={"region": "ap-southeast-1"})
    async with open_services(singapore) as opened:
        with respx.mock(assert_all_called=False) as router:
            any_request = router.route()
            with pytest.raises(InputError, match="ap-southeast-1"):
                await opened.runner.run(TEXT_TO_IMAGE, params(model="wanx2.0-t2i-turbo"), wait_seconds=5)
        assert any_request.call_count == 0 and await opened.store.list() == []


async def test_without_an_api_key_nothing_is_sent_and_no_job_is_recorded(settings: Settings) -> None:
    keyless = settings.model_copy(update={"api_key": None})
    async with open_services(keyless) as opened:
        with respx.mock(assert_all_called=False) as router:
            any_request = router.route()
            with pytest.raises(ConfigurationError, match="DASHSCOPE_API_KEY"):
                await opened.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
        assert any_request.call_count == 0
        assert await opened.store.list() == []


async def test_an_output_folder_that_cannot_be_made_is_refused_before_anything_is_sent(
    settings: Settings, mock: respx.MockRouter, tmp_path: Path
) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    submit = mock.post(SUBMIT_PATH).mock(return_value=submitted())
    async with open_services(settings.model_copy(update={"output_dir": blocker / "out"})) as services:
        with pytest.raises(ConfigurationError, match=r"output_dir: .*a-file/out cannot be used .*--output-dir"):
            await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
        assert await services.store.list() == []
    assert not submit.called


async def test_an_output_folder_that_fails_after_the_task_is_a_warning_with_the_urls_kept(
    services: Services, mock: respx.MockRouter, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=two_images())
    serve_images(mock)
    runner = services.runner

    def no_room(job_id: str, index: int, suffix: str) -> Path:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(runner.outputs, "check", lambda: None)
    monkeypatch.setattr(runner.outputs, "path", no_room)
    result = await runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    assert result.done and result.status == "SUCCEEDED"
    assert all(o.path is None and o.url is not None for o in result.outputs)
    assert all("No space left on device" in w for w in result.warnings if w.startswith("Could not save"))
    assert len([w for w in result.warnings if w.startswith("Could not save")]) == 2
    stored = await services.store.get(result.job_id)
    assert stored is not None and stored.status == "SUCCEEDED"


async def test_a_store_that_cannot_record_the_task_after_the_post_still_hands_out_its_id(
    services: Services, mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import sqlite3

    from bailian_mcp.jobs.store import JobStoreWriteError
    from bailian_mcp.jobs.submission import UnrecordedTaskError

    submit = mock.post(SUBMIT_PATH).mock(return_value=submitted())
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=two_images())
    serve_images(mock)
    attach = services.store.attach_task

    async def disk_full(job_id: str, task_id: str, status: str) -> None:
        raise JobStoreWriteError(services.store.path, sqlite3.OperationalError("database or disk is full"))

    monkeypatch.setattr(services.store, "attach_task", disk_full)
    with pytest.raises(UnrecordedTaskError) as raised:
        await services.runner.run(TEXT_TO_IMAGE, params(), wait_seconds=5)
    said = str(raised.value)
    assert TASK_ID in said and "database or disk is full" in said and "free space" in said
    assert any(TASK_ID in record.getMessage() for record in caplog.records), "the task id is in the log"
    monkeypatch.setattr(services.store, "attach_task", attach)  # the disk has room again

    result = await services.runner.resume(TASK_ID, wait_seconds=5)
    assert result.done and result.status == "SUCCEEDED" and result.task_id == TASK_ID
    assert submit.call_count == 1, "never sent again"
    (job,) = await services.store.list()
    assert job.task_id == TASK_ID and job.job_id == result.job_id


async def test_a_start_marks_submissions_left_without_a_task_as_uncertain(services: Services) -> None:
    import time

    job = await services.store.create(
        capability="text_to_image", model="wan2.2-t2i-flash", base_url=BASE, params={}, request={}
    )
    assert await services.store.claim_sending(job.job_id)
    await services.store.mark_lost_submissions(sent_before=time.time() + 1)
    held = await services.store.get(job.job_id)
    assert held is not None and held.status == "SUBMITTING", "its sender holds it: the reply may be on its way"
    await services.store.release(job.job_id)  # (a store of an older version holds nothing: the time decides)
    await services.store.mark_lost_submissions(sent_before=time.time() + 1)
    marked = await services.store.get(job.job_id)
    assert marked is not None and marked.status == "SUBMIT_UNCERTAIN"


async def test_a_job_whose_process_died_before_sending_it_is_ended_as_never_sent(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    dead = SQLiteJobStore(settings.job_db_path, lease_seconds=0.05)  # another process, which then dies
    job = await dead.create(capability="text_to_image", model="wan2.2-t2i-flash", base_url=BASE, params={}, request={})
    dead.close()
    await anyio.sleep(0.1)
    submit = mock.post(SUBMIT_PATH)
    result = await services.runner.resume(job.job_id, wait_seconds=1)
    assert (result.status, result.done, submit.call_count) == ("CANCELED", True, 0)
    assert result.error is not None and result.error.code == "NotSent" and "nothing was created" in result.message


async def test_a_job_another_live_process_is_sending_is_waited_for_not_declared_lost(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    sender = SQLiteJobStore(settings.job_db_path)  # another process, sending
    job = await sender.create(
        capability="text_to_image", model="wan2.2-t2i-flash", base_url=BASE, params={}, request={}
    )
    assert await sender.claim_sending(job.job_id)
    mock.get(f"/tasks/{TASK_ID}").mock(return_value=task("RUNNING"))

    async def reply_arrives() -> None:
        await anyio.sleep(0.4)
        await sender.attach_task(job.job_id, TASK_ID, "PENDING")
        await sender.release(job.job_id)

    async with anyio.create_task_group() as group:
        group.start_soon(reply_arrives)
        result = await services.runner.resume(job.job_id, wait_seconds=1)
    sender.close()
    assert result.task_id == TASK_ID and result.status == "RUNNING" and not result.done
    stored = await services.store.get(job.job_id)
    assert stored is not None and stored.error is None and stored.status == "RUNNING"


async def test_a_job_another_process_works_on_past_the_wait_comes_back_as_a_handle_naming_it(
    services: Services, mock: respx.MockRouter, settings: Settings
) -> None:
    sender = SQLiteJobStore(settings.job_db_path)  # another process, whose reply is still on its way
    job = await sender.create(
        capability="text_to_image", model="wan2.2-t2i-flash", base_url=BASE, params={}, request={}
    )
    assert await sender.claim_sending(job.job_id)
    submit = mock.post(SUBMIT_PATH)
    result = await services.runner.resume(job.job_id, wait_seconds=0)
    sender.close()
    assert (result.done, result.status, result.next_step, submit.call_count) == (False, "SUBMITTING", "resume", 0)
    assert (
        f"another bailian-mcp process ({sender.owner})" in result.message and "do not generate again" in result.message
    )
    stored = await services.store.get(job.job_id)
    assert stored is not None and stored.status == "SUBMITTING" and stored.error is None
