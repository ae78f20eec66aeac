"""The text-to-image rules, checked at submission (protocol §3)."""

from __future__ import annotations

from typing import Any

import pytest

from bailian_mcp.emulator.text2image import MODELS
from tests.support.emulator_app import ASYNC, T2I, Emulator, assert_error

WAN = ["wan2.2-t2i-flash", "wan2.2-t2i-plus", "wanx2.1-t2i-turbo", "wanx2.1-t2i-plus", "wanx2.0-t2i-turbo"]
QWEN = ["qwen-image", "qwen-image-plus"]


async def finished_output(emu: Emulator, **submit: Any) -> dict[str, Any]:
    task_id = await emu.submit_ok(**submit)
    emu.clock.advance(10)
    output: dict[str, Any] = (await emu.task(task_id))["output"]
    return output


def test_model_table_covers_documented_names_and_aliases() -> None:
    assert set(WAN + QWEN + ["wan2.1-t2i-turbo", "wan2.1-t2i-plus", "wanx-v1"]) == set(MODELS)


@pytest.mark.parametrize("model", [*WAN, "wan2.1-t2i-turbo", "wan2.1-t2i-plus", *QWEN])
async def test_every_model_accepts_a_plain_request(emu: Emulator, model: str) -> None:
    await emu.submit_ok(model)


@pytest.mark.parametrize("size", ["512*512", "1440*1440", "512*1440", "1440*810", "1024*1024"])
async def test_wan_accepts_sides_within_512_to_1440(emu: Emulator, size: str) -> None:
    await emu.submit_ok("wanx2.1-t2i-turbo", size=size)


@pytest.mark.parametrize("size", ["511*1024", "1024*1441", "2048*2048", "1024x1024", "1024", 1024, "*"])
async def test_wan_refuses_sizes_outside_the_side_range(emu: Emulator, size: object) -> None:
    response = await emu.submit("wan2.2-t2i-plus", size=size)
    assert_error(response, 400, "InvalidParameter")
    assert "[512, 1440]" in response.json()["message"]


async def test_wan_default_size_is_1024_square_and_n_is_4(emu: Emulator) -> None:
    output = await finished_output(emu, model="wan2.2-t2i-flash")
    assert output["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 4, "FAILED": 0}
    assert len(output["results"]) == 4


@pytest.mark.parametrize("n", [1, 4])
async def test_wan_accepts_n_1_to_4(emu: Emulator, n: int) -> None:
    assert len((await finished_output(emu, model="wanx2.1-t2i-plus", n=n))["results"]) == n


@pytest.mark.parametrize("n", [0, 5, -1, "2", 1.5, True])
async def test_wan_refuses_n_outside_1_to_4(emu: Emulator, n: object) -> None:
    assert_error(await emu.submit("wanx2.1-t2i-plus", n=n), 400, "InvalidParameter", "Range of n should be [1, 4]")


@pytest.mark.parametrize("seed", [0, 2147483647])
async def test_seed_bounds_are_accepted(emu: Emulator, seed: int) -> None:
    await emu.submit_ok(seed=seed)


@pytest.mark.parametrize("seed", [-1, 2147483648, "42", 4.2])
async def test_seed_outside_0_to_2147483647_is_refused(emu: Emulator, seed: object) -> None:
    response = await emu.submit(seed=seed)
    assert_error(response, 400, "InvalidParameter", "Range of seed should be [0, 2147483647]")


@pytest.mark.parametrize("size", ["1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"])
async def test_qwen_image_accepts_its_five_sizes(emu: Emulator, size: str) -> None:
    await emu.submit_ok("qwen-image", size=size)


@pytest.mark.parametrize("size", ["1472*1140", "1140*1472"])
async def test_qwen_image_accepts_the_2025_spellings(emu: Emulator, size: str) -> None:
    await emu.submit_ok("qwen-image-plus", size=size)


@pytest.mark.parametrize("size", ["1024*1024", "1440*1440", "1664*929"])
async def test_qwen_image_refuses_other_sizes(emu: Emulator, size: str) -> None:
    response = await emu.submit("qwen-image", size=size)
    assert_error(response, 400, "InvalidParameter")
    assert "1664*928" in response.json()["message"]


@pytest.mark.parametrize("n", [2, 4, 0])
async def test_qwen_image_refuses_n_other_than_1(emu: Emulator, n: int) -> None:
    response = await emu.submit("qwen-image-plus", n=n)
    assert_error(response, 400, "InvalidParameter")
    assert response.json()["message"].startswith("num_images_per_prompt must be 1")


async def test_qwen_image_defaults_to_one_picture_without_task_metrics(emu: Emulator) -> None:
    output = await finished_output(emu, model="qwen-image")
    assert len(output["results"]) == 1
    assert "task_metrics" not in output


@pytest.mark.parametrize("place", ["input", "parameters"])
async def test_qwen_image_takes_negative_prompt_in_input_or_parameters(emu: Emulator, place: str) -> None:
    body: dict[str, Any] = {"model": "qwen-image", "input": {"prompt": "a cat"}, "parameters": {}}
    body[place]["negative_prompt"] = "blurry"
    assert (await emu.http.post(T2I, headers=ASYNC, json=body)).status_code == 200
    body[place]["negative_prompt"] = 7
    assert_error(await emu.http.post(T2I, headers=ASYNC, json=body), 400, "InvalidParameter")


@pytest.mark.parametrize("prompt", [None, "", "   ", 42])
async def test_missing_or_empty_prompt_is_refused(emu: Emulator, prompt: object) -> None:
    body = {"model": "wan2.2-t2i-flash", "input": {} if prompt is None else {"prompt": prompt}}
    response = await emu.http.post(T2I, headers=ASYNC, json=body)
    assert_error(response, 400, "InvalidParameter")
    assert "prompt" in response.json()["message"]


@pytest.mark.parametrize(
    ("model", "limit"), [("wan2.2-t2i-flash", 500), ("wanx2.0-t2i-turbo", 800), ("qwen-image", 800)]
)
async def test_long_prompts_are_truncated_not_refused(emu: Emulator, model: str, limit: int) -> None:
    output = await finished_output(emu, model=model, prompt="长" * (limit + 100), n=1)
    assert output["results"][0]["orig_prompt"] == "长" * limit


async def test_prompt_extend_adds_a_deterministic_actual_prompt(emu: Emulator) -> None:
    first = (await finished_output(emu, prompt="a lighthouse", n=1))["results"][0]
    second = (await finished_output(emu, prompt="a lighthouse", n=1))["results"][0]
    assert first["orig_prompt"] == "a lighthouse"
    assert first["actual_prompt"].startswith("a lighthouse") and first["actual_prompt"] != "a lighthouse"
    assert first["actual_prompt"] == second["actual_prompt"]


async def test_prompt_extend_false_leaves_out_actual_prompt(emu: Emulator) -> None:
    result = (await finished_output(emu, prompt_extend=False, n=1))["results"][0]
    assert set(result) == {"orig_prompt", "url"}


@pytest.mark.parametrize("name", ["prompt_extend", "watermark"])
async def test_boolean_parameters_must_be_booleans(emu: Emulator, name: str) -> None:
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "a cat"}, "parameters": {name: "yes"}}
    assert_error(await emu.http.post(T2I, headers=ASYNC, json=body), 400, "InvalidParameter")


async def test_unknown_parameters_are_ignored(emu: Emulator) -> None:
    await emu.submit_ok(resolution="720P", fps=24)


async def test_wanx_v1_takes_its_three_sizes_and_style(emu: Emulator) -> None:
    await emu.submit_ok("wanx-v1", size="720*1280", style="<sketch>")
    response = await emu.submit("wanx-v1", size="1440*1440")
    assert_error(
        response,
        400,
        "InvalidParameter",
        "The size is not match the allowed size ['1024*1024', '720*1280', '1280*720']",
    )
    assert_error(await emu.submit("wanx-v1", style="<cubism>"), 400, "InvalidParameter")


async def test_wanx_v1_results_carry_only_the_url(emu: Emulator) -> None:
    output = await finished_output(emu, model="wanx-v1", n=2)
    assert [set(result) for result in output["results"]] == [{"url"}, {"url"}]


async def test_inspect_trigger_is_refused_at_submission(emu: Emulator) -> None:
    response = await emu.submit(prompt="a cat [emulator:inspect]")
    assert_error(response, 400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    assert emu.state.tasks.get("anything", emu.clock()) is None
    assert list(emu.state.tasks.tasks(emu.clock())) == []
