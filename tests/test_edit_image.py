"""qwen-image-edit: the request `build` sends (§5 of the protocol notes) and the outputs `execute` reads."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import respx

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, ExchangeContext, parse_params
from bailian_mcp.capabilities.edit_image import (
    EDIT_IMAGE,
    MAX_IMAGES,
    PATH,
    SIZED_MODELS,
    EditImageParams,
    build,
    execute,
)
from bailian_mcp.catalog import ImageEditModel
from bailian_mcp.dashscope import errors
from bailian_mcp.dashscope.client import DashScopeClient
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile
from tests.support.media import data_uri, png_bytes

BASE = "https://dashscope.test/api/v1"
BEIJING = BuildContext(region="cn-beijing")
IMG = ["https://example.com/in1.png", "https://example.com/in2.png", "https://example.com/in3.png"]
RESULT = "https://dashscope-result-sz.oss-cn-shenzhen.aliyuncs.com/1d/out-{}.png?Expires=1709372335&Signature=x"


def body_for(context: BuildContext = BEIJING, **params: Any) -> dict[str, Any]:
    return build(EditImageParams(**params), context).body


def rejection(context: BuildContext = BEIJING, **params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        build(EditImageParams(**params), context)
    return caught.value


# ---------------------------------------------------------------------- the request body


def test_qwen_image_edit_sends_one_image_and_the_instruction_without_n_or_size() -> None:
    request = build(
        EditImageParams(image=IMG[0], prompt="把招牌上的字改成“开业大吉”", negative_prompt="模糊", watermark=True),
        BEIJING,
    )
    assert request.path == PATH == "services/aigc/multimodal-generation/generation"
    assert request.model.name == "qwen-image-edit"
    assert dict(request.headers) == {}  # synchronous: no X-DashScope-Async
    assert request.body == {
        "model": "qwen-image-edit",
        "input": {
            "messages": [{"role": "user", "content": [{"image": IMG[0]}, {"text": "把招牌上的字改成“开业大吉”"}]}]
        },
        "parameters": {"watermark": True, "negative_prompt": "模糊"},
    }


def test_qwen_image_edit_with_only_image_and_prompt_sends_watermark_false() -> None:
    assert body_for(image=IMG[0], prompt="remove the person on the left") == {
        "model": "qwen-image-edit",
        "input": {
            "messages": [{"role": "user", "content": [{"image": IMG[0]}, {"text": "remove the person on the left"}]}]
        },
        "parameters": {"watermark": False},
    }


def test_qwen_image_edit_plus_sends_three_images_n_size_prompt_extend_and_seed() -> None:
    body = body_for(
        image=IMG,
        prompt="图1中的女生穿着图2中的黑色裙子按图3的姿势坐下",
        model="qwen-image-edit-plus",
        n=2,
        size="1024x1536",
        prompt_extend=True,
        seed=123,
        negative_prompt=" ",
    )
    assert body == {
        "model": "qwen-image-edit-plus",
        "input": {
            "messages": [
                {
                    "role": "user",
                    "content": [
                        {"image": IMG[0]},
                        {"image": IMG[1]},
                        {"image": IMG[2]},
                        {"text": "图1中的女生穿着图2中的黑色裙子按图3的姿势坐下"},
                    ],
                }
            ]
        },
        "parameters": {"watermark": False, "n": 2, "size": "1024*1536", "prompt_extend": True, "seed": 123},
    }


def test_qwen_image_edit_plus_sends_n_even_when_it_is_the_default() -> None:
    assert body_for(image=IMG[0], prompt="p", model="qwen-image-edit-plus")["parameters"] == {
        "watermark": False,
        "n": 1,
    }


def test_prompt_extend_false_and_seed_zero_are_sent_because_they_were_given() -> None:
    parameters = body_for(image=IMG[0], prompt="p", model="qwen-image-edit-plus", prompt_extend=False, seed=0)[
        "parameters"
    ]
    assert parameters["prompt_extend"] is False and parameters["seed"] == 0


def test_qwen_image_edit_takes_a_seed() -> None:
    assert body_for(image=IMG[0], prompt="p", seed=7)["parameters"] == {"watermark": False, "seed": 7}


def test_the_prompt_is_sent_stripped() -> None:
    content = body_for(image=IMG[0], prompt="  make it red \n")["input"]["messages"][0]["content"]
    assert content[-1] == {"text": "make it red"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (IMG[0], [IMG[0]]),
        (json.dumps(IMG[:2]), IMG[:2]),
        (f"  {json.dumps(IMG)}  ", IMG),
        (IMG[:2], IMG[:2]),
    ],
    ids=["one string", "JSON list", "JSON list with spaces", "list"],
)
def test_image_may_be_one_string_a_json_encoded_list_or_a_list(value: Any, expected: list[str]) -> None:
    params = parse_params(EditImageParams, {"image": value, "prompt": "p", "model": "qwen-image-edit-plus"})
    assert params.image == expected
    content = build(params, BEIJING).body["input"]["messages"][0]["content"]
    assert [item["image"] for item in content[:-1]] == expected


def test_image_urls_with_chinese_characters_are_percent_encoded() -> None:
    content = body_for(image="https://example.com/图.png", prompt="p")["input"]["messages"][0]["content"]
    assert content[0] == {"image": "https://example.com/%E5%9B%BE.png"}


def test_a_data_uri_image_is_sent_as_is() -> None:
    uri = data_uri(png_bytes())
    content = body_for(image=uri, prompt="p")["input"]["messages"][0]["content"]
    assert content[0] == {"image": uri}


def test_a_local_image_becomes_a_local_file_placeholder(tmp_path: Path) -> None:
    file = tmp_path / "cat.png"
    file.write_bytes(png_bytes())
    request = build(EditImageParams(image=str(file), prompt="p"), BuildContext("cn-beijing", [tmp_path]))
    placeholder = request.body["input"]["messages"][0]["content"][0]["image"]
    assert isinstance(placeholder, LocalFile) and placeholder.path == file.resolve()


def test_a_local_image_of_the_wrong_size_is_refused_with_the_parameter_of_its_position(tmp_path: Path) -> None:
    small = tmp_path / "small.png"
    small.write_bytes(png_bytes(300, 300))
    with pytest.raises(InputError) as caught:
        build(
            EditImageParams(image=[IMG[0], str(small)], prompt="p", model="qwen-image-edit-plus"),
            BuildContext("cn-beijing", [tmp_path]),
        )
    assert caught.value.param == "image[1]"
    assert "300×300" in str(caught.value)


# ---------------------------------------------------------------------- refused before anything is sent


def test_two_images_on_qwen_image_edit_are_refused() -> None:
    error = rejection(image=IMG[:2], prompt="p")
    assert error.param == "image"
    assert "qwen-image-edit-plus" in str(error)


def test_four_images_are_refused_for_qwen_image_edit_plus_naming_the_model_that_takes_them() -> None:
    error = rejection(image=[*IMG, IMG[0]], prompt="p", model="qwen-image-edit-plus")
    assert error.param == "image" and "wan2.6-image" in str(error)


def test_more_images_than_any_model_takes_are_refused_by_the_params_model() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(EditImageParams, {"image": [IMG[0]] * (MAX_IMAGES + 1), "prompt": "p"})
    assert caught.value.param == "image"


def test_n_2_on_qwen_image_edit_is_refused() -> None:
    error = rejection(image=IMG[0], prompt="p", n=2)
    assert error.param == "n" and error.value == 2
    assert "up to 6" in str(error)


def test_n_7_is_refused_by_the_params_model() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(EditImageParams, {"image": IMG[0], "prompt": "p", "model": "qwen-image-edit-plus", "n": 7})
    assert caught.value.param == "n"


@pytest.mark.parametrize(("name", "value"), [("size", "1024*1024"), ("prompt_extend", True), ("prompt_extend", False)])
def test_size_and_prompt_extend_on_qwen_image_edit_are_refused(name: str, value: Any) -> None:
    error = rejection(image=IMG[0], prompt="p", **{name: value})
    assert error.param == name
    assert f"only {SIZED_MODELS} accept {name}" in str(error) and "qwen-image-edit-plus" in SIZED_MODELS


@pytest.mark.parametrize("size", ["511*1024", "1024*511", "2049*1024", "1024*2049", "256*256"])
def test_a_size_outside_512_to_2048_is_refused(size: str) -> None:
    error = rejection(image=IMG[0], prompt="p", model="qwen-image-edit-plus", size=size)
    assert error.param == "size"
    assert "512 to 2048" in str(error)


@pytest.mark.parametrize("size", ["512*512", "2048*2048", "512*2048"])
def test_sizes_at_the_edges_of_512_to_2048_are_accepted(size: str) -> None:
    assert body_for(image=IMG[0], prompt="p", model="qwen-image-edit-plus", size=size)["parameters"]["size"] == size


def test_a_size_that_is_not_w_times_h_is_refused() -> None:
    assert "W*H" in str(rejection(image=IMG[0], prompt="p", model="qwen-image-edit-plus", size="big"))


def test_a_blank_prompt_is_refused() -> None:
    error = rejection(image=IMG[0], prompt="   \n ")
    assert error.param == "prompt"


def test_an_instruction_longer_than_any_model_reads_is_refused_by_the_params_model() -> None:
    longest = max(m.prompt_max for m in catalog.models_for("edit_image") if isinstance(m, ImageEditModel))
    with pytest.raises(InputError) as caught:
        parse_params(EditImageParams, {"image": IMG[0], "prompt": "猫" * (longest + 1)})
    assert caught.value.param == "prompt"
    assert str(longest) in str(caught.value) and "Nothing was sent" in str(caught.value)


def test_an_801_character_instruction_for_qwen_image_edit_is_sent_with_a_warning_that_it_is_cut() -> None:
    request = build(parse_params(EditImageParams, {"image": IMG[0], "prompt": "猫" * 801}), BEIJING)
    assert any("801" in w and "800" in w for w in request.warnings)


def test_an_800_character_prompt_is_accepted() -> None:
    params = parse_params(EditImageParams, {"image": IMG[0], "prompt": "猫" * 800})
    assert build(params, BEIJING).body["input"]["messages"][0]["content"][-1] == {"text": "猫" * 800}


def test_an_unknown_parameter_is_refused_by_the_params_model() -> None:
    with pytest.raises(InputError, match="there is no such parameter"):
        parse_params(EditImageParams, {"image": IMG[0], "prompt": "p", "mask": "x"})


def test_an_unknown_model_is_refused() -> None:
    assert rejection(image=IMG[0], prompt="p", model="qwen-image-edit-pro").param == "model"


# ---------------------------------------------------------------------- execute: the synchronous exchange


@pytest.fixture
async def client() -> AsyncIterator[DashScopeClient]:
    async with DashScopeClient(api_key="sk-test", base_url=BASE) as opened:
        yield opened


@pytest.fixture
def mock() -> Iterator[respx.MockRouter]:
    with respx.mock(base_url=BASE, assert_all_called=False) as router:
        yield router


def context_for(client: DashScopeClient, tmp_path: Path, seen: list[str]) -> ExchangeContext:
    async def progress(message: str) -> None:
        seen.append(message)

    return ExchangeContext(client=client, progress=progress, output_path=lambda i, suffix: tmp_path / f"{i}{suffix}")


async def test_execute_posts_the_body_and_reads_images_usage_and_url_expiry(
    client: DashScopeClient, mock: respx.MockRouter, tmp_path: Path
) -> None:
    reply = {
        "output": {
            "choices": [
                {
                    "finish_reason": "stop",
                    "message": {
                        "role": "assistant",
                        "content": [{"image": RESULT.format(0)}, {"image": RESULT.format(1)}],
                    },
                }
            ]
        },
        "usage": {"width": 1536, "image_count": 2, "height": 1024},
        "request_id": "bf37ca26-0abe-98e4-8065-000000",
    }
    route = mock.post(f"/{PATH}").mock(return_value=httpx.Response(200, json=reply))
    request = build(EditImageParams(image=IMG, prompt="p", model="qwen-image-edit-plus", n=2), BEIJING)
    seen: list[str] = []

    outcome = await execute(context_for(client, tmp_path, seen), request)

    sent = route.calls.last.request
    assert json.loads(sent.content) == request.body
    assert sent.headers["authorization"] == "Bearer sk-test"
    assert "x-dashscope-async" not in sent.headers
    assert [(o.index, o.kind, o.url) for o in outcome.outputs] == [
        (0, "image", RESULT.format(0)),
        (1, "image", RESULT.format(1)),
    ]
    assert all(o.url_expires_at == "2024-03-02T09:38:55Z" for o in outcome.outputs)
    assert outcome.usage == {"width": 1536, "image_count": 2, "height": 1024}
    assert outcome.finish_reason == "stop" and outcome.error is None
    assert seen == ["Editing with qwen-image-edit-plus…"]
    cost = request.model.price.cost(outcome.usage)
    assert cost is not None and cost.amount == pytest.approx(0.4)


async def test_execute_counts_the_images_when_usage_lacks_image_count(
    client: DashScopeClient, mock: respx.MockRouter, tmp_path: Path
) -> None:
    reply = {
        "output": {"choices": [{"finish_reason": "stop", "message": {"content": [{"image": RESULT.format(0)}]}}]},
        "request_id": "r",
    }
    mock.post(f"/{PATH}").mock(return_value=httpx.Response(200, json=reply))
    outcome = await execute(
        context_for(client, tmp_path, []), build(EditImageParams(image=IMG[0], prompt="p"), BEIJING)
    )
    assert outcome.usage == {"image_count": 1}
    cost = EDIT_IMAGE.build(EditImageParams(image=IMG[0], prompt="p"), BEIJING).model.price.cost(outcome.usage)
    assert cost is not None and cost.amount == pytest.approx(0.3)


async def test_execute_raises_the_services_refusal_and_does_not_resend(
    client: DashScopeClient, mock: respx.MockRouter, tmp_path: Path
) -> None:
    route = mock.post(f"/{PATH}").mock(
        return_value=httpx.Response(
            400, json={"code": "InvalidParameter", "message": "num_images_per_prompt must be 1.", "request_id": "r"}
        )
    )
    with pytest.raises(errors.InvalidRequestError, match="num_images_per_prompt"):
        await execute(context_for(client, tmp_path, []), build(EditImageParams(image=IMG[0], prompt="p"), BEIJING))
    assert route.call_count == 1
