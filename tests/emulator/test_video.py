"""Text-to-video (protocol §7): sizes per model, duration, the result fields and a real MP4."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bailian_mcp.emulator.video import MODELS, SIZES_480P, SIZES_720P
from tests.support.emulator_app import ASYNC, AUTH, T2V, Emulator, assert_error
from tests.support.media import mp4_facts


async def submit(
    emu: Emulator, model: str = "wanx2.1-t2v-turbo", prompt: str = "a cat running under the moon", **params: Any
) -> httpx.Response:
    body = {"model": model, "input": {"prompt": prompt, "extend_prompt": True}, "parameters": params}
    return await emu.http.post(T2V, headers=ASYNC, json=body)


async def finished(emu: Emulator, **submit_args: Any) -> dict[str, Any]:
    response = await submit(emu, **submit_args)
    assert response.status_code == 200, response.text
    emu.clock.advance(10)
    return await emu.task(response.json()["output"]["task_id"])


def test_models_include_the_international_names() -> None:
    assert set(MODELS) == {"wanx2.1-t2v-turbo", "wanx2.1-t2v-plus", "wan2.1-t2v-turbo", "wan2.1-t2v-plus"}


async def test_result_matches_the_real_capture(emu: Emulator) -> None:
    body = await finished(emu)
    output = body["output"]
    assert list(output) == [
        "task_id", "task_status", "submit_time", "scheduled_time", "end_time",
        "video_url", "orig_prompt", "actual_prompt",
    ]  # fmt: skip
    assert output["orig_prompt"] == "a cat running under the moon"
    assert output["actual_prompt"].startswith("a cat running under the moon")
    assert body["usage"] == {"video_duration": 5, "video_ratio": "1280*720", "video_count": 1}
    assert "task_metrics" not in output
    assert output["video_url"].split("?")[0].endswith("/1.mp4")


async def test_the_video_is_a_5_second_mp4_of_the_requested_size(emu: Emulator) -> None:
    url = (await finished(emu, size="624*624"))["output"]["video_url"]
    download = await emu.http.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
    assert mp4_facts(download.content) == {"seconds": 5.0, "size": (624, 624), "frames": 150}


@pytest.mark.parametrize("size", SIZES_480P + SIZES_720P)
async def test_turbo_takes_480p_and_720p_sizes(emu: Emulator, size: str) -> None:
    assert (await submit(emu, size=size)).status_code == 200


@pytest.mark.parametrize("size", SIZES_720P)
async def test_plus_takes_720p_sizes(emu: Emulator, size: str) -> None:
    assert (await submit(emu, "wanx2.1-t2v-plus", size=size)).status_code == 200


@pytest.mark.parametrize(
    ("model", "size"),
    [("wanx2.1-t2v-plus", "832*480"), ("wan2.1-t2v-turbo", "480*854"), ("wanx2.1-t2v-turbo", "1920*1080"),
     ("wanx2.1-t2v-turbo", 720)],
)  # fmt: skip
async def test_other_sizes_are_refused_with_the_allowed_list(emu: Emulator, model: str, size: object) -> None:
    response = await submit(emu, model, size=size)
    allowed = list(MODELS[model])
    assert_error(response, 400, "InvalidParameter", f"The size is not match the allowed size {allowed}")


@pytest.mark.parametrize("duration", [10, 4, "5", 5.5])
async def test_duration_must_be_5(emu: Emulator, duration: object) -> None:
    assert_error(await submit(emu, duration=duration), 400, "InvalidParameter", "Range of duration should be [5, 5]")


async def test_duration_5_and_unknown_parameters_are_fine(emu: Emulator) -> None:
    assert (await submit(emu, duration=5, resolution="720P", fps=24)).status_code == 200


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"seed": -5}, "Range of seed should be [0, 2147483647]"),
        ({"prompt_extend": "no"}, "Parameter prompt_extend must be a boolean, got 'no'"),
        ({"watermark": 0}, "Parameter watermark must be a boolean, got 0"),
        ({"negative_prompt": 3}, "Parameter negative_prompt must be a string, got 3"),
    ],
)
async def test_parameter_rules(emu: Emulator, params: dict[str, Any], message: str) -> None:
    assert_error(await submit(emu, **params), 400, "InvalidParameter", message)


async def test_prompt_is_required_and_truncated_to_800(emu: Emulator) -> None:
    assert_error(
        await submit(emu, prompt=""),
        400,
        "InvalidParameter",
        "Required parameter(prompt) missing or invalid, please check the request parameters.",
    )
    output = (await finished(emu, prompt="长" * 900, prompt_extend=False))["output"]
    assert output["orig_prompt"] == "长" * 800 and "actual_prompt" not in output


async def test_sync_calls_are_refused(emu: Emulator) -> None:
    response = await emu.http.post(T2V, headers=AUTH, json={"model": "wanx2.1-t2v-turbo", "input": {"prompt": "x"}})
    assert_error(response, 403, "AccessDenied", "current user api does not support synchronous calls.")


async def test_fail_trigger(emu: Emulator) -> None:
    output = (await finished(emu, prompt="a cat [emulator:fail]"))["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", "InternalError.Algo")
    assert "task_metrics" not in output and "video_url" not in output


async def test_inspect_trigger(emu: Emulator) -> None:
    response = await submit(emu, prompt="[emulator:inspect]")
    assert_error(response, 400, "DataInspectionFailed", "Input data may contain inappropriate content.")
