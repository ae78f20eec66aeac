"""The official ``dashscope`` SDK, as an independent client, works against the emulator as against
the real service: what it sends is accepted, what it reads is there, and its failures look the same.

The SDK is synchronous and its ``wait`` sleeps at least 1 s between polls, so these tests are sync
and use tiny task durations.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import dashscope
import httpx
import pytest
from dashscope.aigc.image_synthesis import ImageSynthesis
from PIL import Image

from bailian_mcp.emulator import EmulatorConfig, RunningEmulator, start_in_thread
from tests.support.emulator_app import KEY

pytestmark = pytest.mark.slow

QUICK = EmulatorConfig(pending_seconds=0.05, running_seconds=0.1, submit_rps=0, max_concurrent_tasks=0)


@pytest.fixture(scope="module")
def quick() -> Iterator[RunningEmulator]:
    with start_in_thread(QUICK) as emu:
        yield emu


def use(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    monkeypatch.setattr(dashscope, "base_http_api_url", emu.base_url)
    return emu


@pytest.fixture
def emu(quick: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> RunningEmulator:
    return use(quick, monkeypatch)


def test_async_call_then_wait_yields_downloadable_pictures(emu: RunningEmulator) -> None:
    submitted = ImageSynthesis.async_call(
        model="wanx2.1-t2i-turbo",
        prompt="一间花店",
        negative_prompt="人物",
        n=2,
        size="1024*768",
        api_key=KEY,
    )
    assert submitted.status_code == 200, submitted
    assert submitted.output.task_status == "PENDING" and submitted.output.task_id
    assert submitted.request_id

    done = ImageSynthesis.wait(submitted, api_key=KEY)
    assert done.status_code == 200
    assert done.output.task_status == "SUCCEEDED"
    assert done.usage.image_count == 2
    assert [result.orig_prompt for result in done.output.results] == ["一间花店", "一间花店"]
    picture = Image.open(io.BytesIO(httpx.get(done.output.results[0].url).content))
    assert picture.size == (1024, 768)

    sent = next(entry for entry in emu.state.requests if entry["body"] and entry["body"].get("input"))
    assert sent["headers"]["x-dashscope-async"] == "enable"
    assert sent["body"]["input"] == {"prompt": "一间花店", "negative_prompt": "人物"}
    assert sent["body"]["parameters"] == {"size": "1024*768", "n": 2}


def test_fetch_reports_the_current_status(emu: RunningEmulator) -> None:
    submitted = ImageSynthesis.async_call(model="qwen-image", prompt="a bridge", api_key=KEY)
    first = ImageSynthesis.fetch(submitted, api_key=KEY)
    assert first.status_code == 200 and first.output.task_status in {"PENDING", "RUNNING"}
    assert first.output.task_id == submitted.output.task_id


def test_failed_and_partial_tasks_read_like_the_real_ones(emu: RunningEmulator) -> None:
    failing = ImageSynthesis.async_call(model="wan2.2-t2i-flash", prompt="x [emulator:fail]", n=1, api_key=KEY)
    partial = ImageSynthesis.async_call(model="wan2.2-t2i-flash", prompt="y [emulator:partial]", n=2, api_key=KEY)
    failed = ImageSynthesis.wait(failing, api_key=KEY)
    assert failed.status_code == 200 and failed.output.task_status == "FAILED"
    assert failed.output.code == "InternalError.Algo"
    mixed = ImageSynthesis.wait(partial, api_key=KEY)
    assert mixed.output.task_status == "SUCCEEDED" and mixed.usage.image_count == 1
    assert mixed.output.results[0].url and mixed.output.results[1].code == "InternalError.Timeout"


def test_cancel_works_while_pending_and_is_refused_after(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_in_thread(EmulatorConfig(pending_seconds=60, submit_rps=0)) as slow:
        use(slow, monkeypatch)
        submitted = ImageSynthesis.async_call(model="wan2.2-t2i-plus", prompt="a tower", api_key=KEY)
        canceled = ImageSynthesis.cancel(submitted, api_key=KEY)
        assert canceled.status_code == 200, canceled
        assert ImageSynthesis.fetch(submitted, api_key=KEY).output.task_status == "CANCELED"
        again = ImageSynthesis.cancel(submitted, api_key=KEY)
        assert (again.status_code, again.code) == (400, "UnsupportedOperation")
        assert again.message == "Failed to cancel the task, please confirm if the task is in PENDING status."


def test_list_returns_the_submitted_tasks(emu: RunningEmulator) -> None:
    submitted = ImageSynthesis.async_call(model="wanx2.0-t2i-turbo", prompt="a list", n=1, api_key=KEY)
    listed = ImageSynthesis.list(model_name="wanx2.0-t2i-turbo", page_size=5, api_key=KEY)
    assert listed.status_code == 200 and listed.request_id
    assert listed.output["page_size"] == 5
    assert submitted.output.task_id in [item["task_id"] for item in listed.output["data"]]


def test_unknown_task_waits_to_unknown(emu: RunningEmulator) -> None:
    response = ImageSynthesis.wait("no-such-task", api_key=KEY)
    assert response.status_code == 200 and response.output.task_status == "UNKNOWN"


def test_bad_key_fails_with_invalid_api_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_in_thread(EmulatorConfig(api_keys=frozenset({KEY}))) as keyed:
        use(keyed, monkeypatch)
        response = ImageSynthesis.async_call(model="wan2.2-t2i-flash", prompt="a cat", api_key="sk-wrong")
        assert (response.status_code, response.code) == (401, "InvalidApiKey")
        assert response.message == "Invalid API-key provided."
        assert response.output is None


def test_qwen_image_with_two_pictures_is_refused(emu: RunningEmulator) -> None:
    response = ImageSynthesis.async_call(model="qwen-image-plus", prompt="a cat", n=2, api_key=KEY)
    assert (response.status_code, response.code) == (400, "InvalidParameter")
    assert "num_images_per_prompt must be 1" in response.message


def test_sync_call_without_async_header_is_access_denied(emu: RunningEmulator) -> None:
    response = ImageSynthesis.sync_call(model="wanx2.1-t2i-turbo", prompt="a cat", api_key=KEY)
    assert (response.status_code, response.code) == (403, "AccessDenied")


def test_third_submission_in_a_second_is_throttled(monkeypatch: pytest.MonkeyPatch) -> None:
    with start_in_thread(EmulatorConfig(submit_rps=2)) as limited:
        use(limited, monkeypatch)
        codes = [
            ImageSynthesis.async_call(model="wan2.2-t2i-flash", prompt="a cat", api_key=KEY).status_code
            for _ in range(3)
        ]
        assert codes == [200, 200, 429]
