"""The 2026 image lineup on the emulator: each model's rules accepted and refused at their edges, with the real
error envelope, on its endpoints — text2image (wan2.5-t2i-preview), image2image (wan2.5-i2i-preview), the
synchronous multimodal endpoint (qwen-image-max, qwen-image-edit-max, wan2.6-t2i, wan2.6-image, qwen-image-3.0)
and the async image-generation endpoint (wan2.6-t2i, wan2.6-image, qwen-image-3.0)."""

from __future__ import annotations

import io
import json
from typing import Any

import httpx
import pytest
from PIL import Image

from bailian_mcp.emulator import image2image, image_edit, image_generation, text2image
from tests.support.emulator_app import (
    ASYNC,
    AUTH,
    I2I,
    MULTIMODAL,
    RESOLVE,
    T2I,
    UPLOADS,
    Emulator,
    assert_error,
    upload,
)
from tests.support.emulators import FileServer
from tests.support.media import data_uri, png_bytes

GENERATION = "/api/v1/services/aigc/image-generation/generation"
SSE = {**AUTH, "X-DashScope-SSE": "enable"}


def content(*images: str, text: str | None = "a red kite over the sea") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"text": text}] if text is not None else []
    return [*items, *({"image": image} for image in images)]


def body(model: str, items: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    return {"model": model, "input": {"messages": [{"role": "user", "content": items}]}, "parameters": params}


async def sync_call(
    emu: Emulator, model: str, items: list[dict[str, Any]], headers: dict[str, str] = AUTH, **params: Any
) -> httpx.Response:
    return await emu.http.post(MULTIMODAL, headers=headers, json=body(model, items, **params))


async def sync_ok(emu: Emulator, model: str, items: list[dict[str, Any]], **params: Any) -> dict[str, Any]:
    response = await sync_call(emu, model, items, **params)
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    return answer


async def task_output(emu: Emulator, path: str, payload: dict[str, Any]) -> dict[str, Any]:
    """Submit ``payload`` to ``path`` (async), let the task finish, return the whole task body."""
    response = await emu.http.post(path, headers=ASYNC, json=payload)
    assert response.status_code == 200, response.text
    created = response.json()
    assert created["output"]["task_status"] == "PENDING"
    emu.clock.advance(10)
    return await emu.task(created["output"]["task_id"])


def image_urls(answer: dict[str, Any]) -> list[str]:
    return [
        part["image"]
        for choice in answer["output"]["choices"]
        for part in choice["message"]["content"]
        if "image" in part
    ]


async def picture_size(emu: Emulator, url: str) -> tuple[int, int]:
    download = await emu.http.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    picture = Image.open(io.BytesIO(download.content))
    assert picture.format == "PNG"
    return picture.size


def sse_events(response: httpx.Response) -> list[tuple[str, int, dict[str, Any]]]:
    """(event, status, data) of each SSE event of a buffered response."""
    events = []
    for block in response.text.strip().split("\n\n"):
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            name, _, value = line.partition(":")
            fields[name or "comment"] = value
        status = int(fields["comment"].removeprefix("HTTP_STATUS/"))
        events.append((fields["event"], status, json.loads(fields["data"])))
    return events


@pytest.fixture
def photo(files: FileServer) -> str:
    return files.add("lineup/photo.png", png_bytes(640, 480))


@pytest.fixture
def square(files: FileServer) -> str:
    return files.add("lineup/square.png", png_bytes(400, 400, (20, 160, 90)))


def test_each_model_is_known_to_its_endpoints() -> None:
    assert "wan2.5-t2i-preview" in text2image.ALL_MODELS and "qwen-image-plus" in text2image.ALL_MODELS
    assert "wan2.5-i2i-preview" in image2image.Image2Image.models
    assert {"qwen-image-max", "qwen-image-edit-max", "qwen-image-plus"} <= set(image_edit.MODELS)
    assert {"wan2.6-t2i", "wan2.6-image", "qwen-image-3.0"} <= set(image_generation.MODELS)
    assert not set(image_generation.MODELS) & (set(image_edit.MODELS) | set(text2image.ALL_MODELS))


# --- wan2.5-t2i-preview (text2image, async) --------------------------------------------------------------


async def test_wan25_t2i_defaults_to_four_1280_square_pictures(emu: Emulator) -> None:
    task = await task_output(emu, T2I, {"model": "wan2.5-t2i-preview", "input": {"prompt": "a lighthouse"}})
    output = task["output"]
    assert output["task_status"] == "SUCCEEDED" and task["usage"] == {"image_count": 4}
    assert output["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 4, "FAILED": 0}
    assert [set(item) for item in output["results"]] == [{"orig_prompt", "actual_prompt", "url"}] * 4
    assert await picture_size(emu, output["results"][0]["url"]) == (1280, 1280)


@pytest.mark.parametrize("size", ["1280*1280", "1440*1440", "768*2700", "2560*640", "1104*1472", "960*1696"])
async def test_wan25_t2i_takes_1280_to_1440_squared_pixels_within_1_4_to_4_1(emu: Emulator, size: str) -> None:
    await emu.submit_ok("wan2.5-t2i-preview", size=size, n=1)


@pytest.mark.parametrize("size", ["1279*1280", "1441*1440", "2720*640", "1024*1024", "1280x1280", 1280])
async def test_wan25_t2i_refuses_other_sizes(emu: Emulator, size: object) -> None:
    message = (
        "The size is not match the allowed size: total pixels must be in [1280*1280, 1440*1440] and the aspect "
        f"ratio in [1:4, 4:1], e.g. '1280*1280', got {size!r}"
    )
    assert_error(await emu.submit("wan2.5-t2i-preview", size=size), 400, "InvalidParameter", message)


@pytest.mark.parametrize("n", [0, 5, "2"])
async def test_wan25_t2i_n_is_1_to_4(emu: Emulator, n: object) -> None:
    assert_error(await emu.submit("wan2.5-t2i-preview", n=n), 400, "InvalidParameter", "Range of n should be [1, 4]")


async def test_wan25_t2i_truncates_prompts_at_2000_and_takes_nulls_as_absent(emu: Emulator) -> None:
    payload = {"model": "wan2.5-t2i-preview", "input": {"prompt": "长" * 2100}, "parameters": {"n": None, "size": None}}
    output = (await task_output(emu, T2I, payload))["output"]
    assert len(output["results"]) == 4 and output["results"][0]["orig_prompt"] == "长" * 2000


# --- wan2.5-i2i-preview (image2image, async) -------------------------------------------------------------


def i2i(images: object, prompt: str = "put the kite on the beach", **params: Any) -> dict[str, Any]:
    return {"model": "wan2.5-i2i-preview", "input": {"prompt": prompt, "images": images}, "parameters": params}


async def test_wan25_i2i_edits_into_the_last_images_aspect(emu: Emulator, photo: str, square: str) -> None:
    task = await task_output(emu, I2I, i2i([square, photo]))
    output = task["output"]
    assert output["task_metrics"] == {"TOTAL": 4, "SUCCEEDED": 4, "FAILED": 0} and task["usage"] == {"image_count": 4}
    first = output["results"][0]
    assert first["orig_prompt"] == "put the kite on the beach" and "actual_prompt" in first
    assert await picture_size(emu, first["url"]) == (1472, 1104)  # ≈1280² at 4:3, sides multiples of 16


@pytest.mark.parametrize("size", ["768*768", "1280*1280", "2560*640", "800*1200"])
async def test_wan25_i2i_takes_768_to_1280_squared_pixels(emu: Emulator, photo: str, size: str) -> None:
    output = (await task_output(emu, I2I, i2i([photo], size=size, n=1)))["output"]
    width, height = (int(side) for side in size.split("*"))
    assert await picture_size(emu, output["results"][0]["url"]) == (width, height)


@pytest.mark.parametrize("size", ["767*768", "1281*1280", "1700*400", "1K"])
async def test_wan25_i2i_refuses_other_sizes(emu: Emulator, photo: str, size: str) -> None:
    response = await emu.http.post(I2I, headers=ASYNC, json=i2i([photo], size=size))
    message = (
        "The size is not match the allowed size: total pixels must be in [768*768, 1280*1280] and the aspect ratio "
        f"in [1:4, 4:1], e.g. '1280*1280', got {size!r}"
    )
    assert_error(response, 400, "InvalidParameter", message)


@pytest.mark.parametrize("images", [[], None, "http://a.test/1.png", ["http://a.test/1.png"] * 4])
async def test_wan25_i2i_takes_1_to_3_images(emu: Emulator, images: object) -> None:
    response = await emu.http.post(I2I, headers=ASYNC, json=i2i(images))
    assert_error(response, 400, "InvalidParameter", "The images must be a list of 1 to 3 image URLs.")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png_bytes(383, 500), "The resolution of images is invalid: width and height must each be in [384, 5000] "
         "pixels, got 383*500."),
        (png_bytes(5001, 400), "The resolution of images is invalid: width and height must each be in [384, 5000] "
         "pixels, got 5001*400."),
        (png_bytes(400, 400, kind="TIFF"), "The format of images is not supported, supported formats: JPG, JPEG, "
         "PNG, BMP, WEBP."),
    ],
)  # fmt: skip
async def test_wan25_i2i_image_checks(emu: Emulator, files: FileServer, data: bytes, message: str) -> None:
    url = files.add(f"lineup/i2i-{len(data)}.img", data)
    assert_error(await emu.http.post(I2I, headers=ASYNC, json=i2i([url])), 400, "InvalidParameter", message)


async def test_wan25_i2i_n_and_triggers(emu: Emulator, photo: str) -> None:
    response = await emu.http.post(I2I, headers=ASYNC, json=i2i([photo], n=5))
    assert_error(response, 400, "InvalidParameter", "Range of n should be [1, 4]")
    partial = (await task_output(emu, I2I, i2i([photo], "x [emulator:partial]", n=2)))["output"]
    assert partial["task_status"] == "SUCCEEDED" and partial["results"][1]["code"] == "InternalError.Timeout"
    assert partial["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1}
    inspected = await emu.http.post(I2I, headers=ASYNC, json=i2i([photo], "x [emulator:inspect]"))
    assert_error(inspected, 400, "DataInspectionFailed")


async def test_wan25_i2i_is_async_only(emu: Emulator, photo: str) -> None:
    response = await emu.http.post(I2I, headers=AUTH, json=i2i([photo]))
    assert_error(response, 403, "AccessDenied", "current user api does not support synchronous calls.")


# --- qwen-image-max and qwen-image-edit-max (multimodal, sync) --------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [(None, (1664, 928)), ("1328*1328", (1328, 1328)), ("512*512", (512, 512)), ("2048*2048", (2048, 2048)),
     ("1000*700", (1000, 700))],
)  # fmt: skip
async def test_qwen_image_max_takes_its_sizes_and_custom_ones(
    emu: Emulator, size: str | None, expected: tuple[int, int]
) -> None:
    answer = await sync_ok(emu, "qwen-image-max", content(), size=size)
    assert answer["usage"] == {"width": expected[0], "height": expected[1], "image_count": 1}
    if expected[0] * expected[1] <= 1664 * 928:
        assert await picture_size(emu, image_urls(answer)[0]) == expected


@pytest.mark.parametrize("size", ["511*512", "2048*2049", "1024x1024"])
async def test_qwen_image_max_refuses_sizes_outside_512_to_2048_squared(emu: Emulator, size: str) -> None:
    message = (
        "The size is not match the allowed size: total pixels must be in [512*512, 2048*2048], e.g. '1664*928', "
        f"got {size!r}"
    )
    assert_error(await sync_call(emu, "qwen-image-max", content(), size=size), 400, "InvalidParameter", message)


async def test_qwen_image_max_rules(emu: Emulator, photo: str) -> None:
    refused = await sync_call(emu, "qwen-image-max", content(), n=2)
    assert_error(refused, 400, "InvalidParameter", "num_images_per_prompt must be 1.")
    with_image = await sync_call(emu, "qwen-image-max", content(photo))
    assert_error(with_image, 400, "InvalidParameter", "content length only support 1")
    await sync_ok(emu, "qwen-image-max", content(text="字" * 900), negative_prompt="糊" * 600)  # truncated
    not_async = await emu.submit("qwen-image-max")
    assert_error(not_async, 400, "InvalidParameter", "Model not exist.")


async def test_qwen_image_edit_max_is_like_plus(emu: Emulator, photo: str, square: str) -> None:
    inline = data_uri(png_bytes(500, 700, kind="WEBP"), "image/webp")
    answer = await sync_ok(emu, "qwen-image-edit-max", content(photo, square, inline), n=6, size="512*2048")
    assert answer["usage"] == {"width": 512, "height": 2048, "image_count": 6}
    (choice,) = answer["output"]["choices"]
    assert len(choice["message"]["content"]) == 6
    default = await sync_ok(emu, "qwen-image-edit-max", content(photo, inline))
    assert (default["usage"]["width"], default["usage"]["height"]) == (500, 700)


@pytest.mark.parametrize(
    ("items", "params", "message"),
    [
        (content(*["http://a.test/1.png"] * 4), {}, "content length only support 4"),
        (content(text="edit"), {}, "lack of image or text"),
        (content("PHOTO"), {"n": 7}, "Range of n should be [1, 6]"),
        (content("PHOTO"), {"n": 0}, "Range of n should be [1, 6]"),
        (content("PHOTO"), {"size": "511*1024"}, "The size is not match the allowed size: width and height must "
         "each be in [512, 2048], e.g. '1024*1024', got '511*1024'"),
        (content("PHOTO"), {"seed": 2147483648}, "Range of seed should be [0, 2147483647]"),
    ],
)  # fmt: skip
async def test_qwen_image_edit_max_refusals(
    emu: Emulator, photo: str, items: list[dict[str, Any]], params: dict[str, Any], message: str
) -> None:
    items = [{"image": photo} if item.get("image") == "PHOTO" else item for item in items]
    assert_error(await sync_call(emu, "qwen-image-edit-max", items, **params), 400, "InvalidParameter", message)


async def test_qwen_image_edit_max_truncates_long_text_and_drops_the_partial_picture(emu: Emulator, photo: str) -> None:
    await sync_ok(emu, "qwen-image-edit-max", content(photo, text="字" * 900), negative_prompt="x" * 600)
    partial = await sync_ok(emu, "qwen-image-edit-max", content(photo, text="edit [emulator:partial]"), n=3)
    assert partial["usage"]["image_count"] == 2 and len(image_urls(partial)) == 2
    failed = await sync_call(emu, "qwen-image-edit-max", content(photo, text="edit [emulator:partial]"))
    assert_error(failed, 500, "InternalError.Algo", "Inference error: emulated failure.")


@pytest.mark.parametrize("model", ["qwen-image-edit-max-2026-01-16", "qwen-image-edit-plus-2025-12-15"])
async def test_dated_edit_models(emu: Emulator, photo: str, model: str) -> None:
    assert (await sync_ok(emu, model, content(photo), n=2))["usage"]["image_count"] == 2


# --- wan2.6-t2i ----------------------------------------------------------------------------------------


async def test_wan26_t2i_sync_answers_one_choice_per_picture(emu: Emulator) -> None:
    answer = await sync_ok(emu, "wan2.6-t2i", content(), n=2)
    assert list(answer) == ["output", "usage", "request_id"]
    assert answer["output"]["finished"] is True
    assert answer["usage"] == {"image_count": 2, "input_tokens": 0, "output_tokens": 0, "size": "1280*1280",
                               "total_tokens": 0}  # fmt: skip
    choices = answer["output"]["choices"]
    assert len(choices) == 2
    for choice in choices:
        assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
        (part,) = choice["message"]["content"]
        assert part["type"] == "image"
    assert await picture_size(emu, choices[0]["message"]["content"][0]["image"]) == (1280, 1280)


async def test_wan26_t2i_defaults_to_four_pictures_and_ignores_nulls_and_is_async(emu: Emulator) -> None:
    answer = await sync_ok(emu, "wan2.6-t2i", content(), n=None, size=None, max_images=None, is_async=False)
    assert answer["usage"]["image_count"] == 4 and answer["usage"]["size"] == "1280*1280"


@pytest.mark.parametrize("size", ["1440*1440", "768*2700", "2560*640", "1472*1104"])
async def test_wan26_t2i_sizes(emu: Emulator, size: str) -> None:
    assert (await sync_ok(emu, "wan2.6-t2i", content(), size=size, n=1))["usage"]["size"] == size


@pytest.mark.parametrize(
    ("items", "params", "message"),
    [
        (content("http://a.test/1.png"), {}, "content length only support 1"),
        ([{"text": "a"}, {"text": "b"}], {}, "lack of image or text"),
        ([], {}, "lack of image or text"),
        (content(), {"n": 5}, "Range of n should be [1, 4]"),
        (content(), {"size": "1024*1024"}, "The size is not match the allowed size: total pixels must be in "
         "[1280*1280, 1440*1440] and the aspect ratio in [1:4, 4:1], e.g. '1280*1280', got '1024*1024'"),
        (content(), {"size": "2720*640"}, None),
        (content(), {"prompt_extend": "yes"}, "Parameter prompt_extend must be a boolean, got 'yes'"),
        (content(), {"negative_prompt": 3}, "Parameter negative_prompt must be a string, got 3"),
    ],
)  # fmt: skip
async def test_wan26_t2i_refusals(
    emu: Emulator, items: list[dict[str, Any]], params: dict[str, Any], message: str | None
) -> None:
    assert_error(await sync_call(emu, "wan2.6-t2i", items, **params), 400, "InvalidParameter", message)


async def test_wan26_t2i_message_rules(emu: Emulator) -> None:
    for payload, message in [
        ({}, "No messages found in input"),
        ({"messages": [{"role": "user", "content": [{"text": "a"}]}] * 2}, "messages length only support 1"),
        ({"messages": [{"role": "system", "content": [{"text": "a"}]}]}, "Role of the message must be user"),
    ]:
        response = await emu.http.post(MULTIMODAL, headers=AUTH, json={"model": "wan2.6-t2i", "input": payload})
        assert_error(response, 400, "InvalidParameter", message)


async def test_wan26_t2i_truncates_text_at_2100_characters(emu: Emulator) -> None:
    first = await sync_ok(emu, "wan2.6-t2i", content(text="x" * 2100), n=1, seed=7)
    second = await sync_ok(emu, "wan2.6-t2i", content(text="x" * 2100 + "more"), n=1, seed=7)
    pictures = [(await emu.http.get(image_urls(answer)[0])).content for answer in (first, second)]
    assert pictures[0] == pictures[1]


async def test_wan26_t2i_async_task_carries_choices_without_metrics(emu: Emulator) -> None:
    task = await task_output(emu, GENERATION, body("wan2.6-t2i", content(), n=2, size="1696*960", is_async=True))
    output = task["output"]
    assert output["task_status"] == "SUCCEEDED" and output["finished"] is True
    assert "task_metrics" not in output and "results" not in output
    assert {"submit_time", "scheduled_time", "end_time"} <= set(output)
    assert len(output["choices"]) == 2
    assert task["usage"] == {"image_count": 2, "input_tokens": 0, "output_tokens": 0, "size": "1696*960",
                             "total_tokens": 0}  # fmt: skip
    assert await picture_size(emu, output["choices"][1]["message"]["content"][0]["image"]) == (1696, 960)


async def test_wan26_t2i_async_refusals_and_triggers(emu: Emulator) -> None:
    sync_on_async = await emu.http.post(GENERATION, headers=AUTH, json=body("wan2.6-t2i", content()))
    assert_error(sync_on_async, 403, "AccessDenied", "current user api does not support synchronous calls.")
    async_on_sync = await sync_call(emu, "wan2.6-t2i", content(), headers=ASYNC)
    assert_error(async_on_sync, 403, "AccessDenied", "Current user api does not support asynchronous calls.")
    refused = await emu.http.post(GENERATION, headers=ASYNC, json=body("wan2.6-t2i", content(), n=0))
    assert_error(refused, 400, "InvalidParameter", "Range of n should be [1, 4]")
    unknown = await emu.http.post(GENERATION, headers=ASYNC, json=body("qwen-image-max", content()))
    assert_error(unknown, 400, "InvalidParameter", "Model not exist.")
    failed = await task_output(emu, GENERATION, body("wan2.6-t2i", content(text="x [emulator:fail]")))
    assert failed["output"]["task_status"] == "FAILED" and failed["output"]["code"] == "InternalError.Algo"
    partial = await task_output(emu, GENERATION, body("wan2.6-t2i", content(text="x [emulator:partial]"), n=3))
    assert len(partial["output"]["choices"]) == 2 and partial["usage"]["image_count"] == 2
    inspected = await emu.http.post(
        GENERATION, headers=ASYNC, json=body("wan2.6-t2i", content(text="[emulator:inspect]"))
    )
    assert_error(inspected, 400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    sync_failure = await sync_call(emu, "wan2.6-t2i", content(text="x [emulator:fail]"))
    assert_error(sync_failure, 500, "InternalError.Algo", "Inference error: emulated failure.")


async def test_wan26_t2i_streams_one_event_when_asked(emu: Emulator) -> None:
    response = await sync_call(emu, "wan2.6-t2i", content(), headers=SSE, n=1)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
    ((event, status, data),) = sse_events(response)
    assert (event, status) == ("result", 200)
    assert data["output"]["finished"] is True and data["output"]["choices"][0]["finish_reason"] == "stop"
    refused = sse_events(await sync_call(emu, "wan2.6-t2i", content(), headers=SSE, n=9))
    assert [(event, status, data["code"]) for event, status, data in refused] == [("error", 400, "InvalidParameter")]


# --- wan2.6-image ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("size", "expected"),
    [(None, (1472, 1104)), ("1K", (1472, 1104)), ("2K", (2368, 1776)), ("1000*1000", (992, 992)),
     ("1280*720", (1280, 720)), ("800*3200", (800, 3200))],
)  # fmt: skip
async def test_wan26_image_edit_sizes(emu: Emulator, photo: str, size: str | None, expected: tuple[int, int]) -> None:
    answer = await sync_ok(emu, "wan2.6-image", content(photo), size=size, n=1)
    assert answer["usage"] == {"image_count": 1, "input_tokens": 0, "output_tokens": 0,
                               "size": f"{expected[0]}*{expected[1]}", "total_tokens": 0}  # fmt: skip
    if expected[0] * expected[1] <= 1472 * 1104:
        assert await picture_size(emu, image_urls(answer)[0]) == expected


@pytest.mark.parametrize("size", ["700*700", "2100*2100", "4000*900", "3K", "1k"])
async def test_wan26_image_edit_refuses_other_sizes(emu: Emulator, photo: str, size: str) -> None:
    message = (
        "The size is not match the allowed size: '1K', '2K', or total pixels in [768*768, 2048*2048] with the "
        f"aspect ratio in [1:4, 4:1], e.g. '1280*1280', got {size!r}"
    )
    assert_error(await sync_call(emu, "wan2.6-image", content(photo), size=size), 400, "InvalidParameter", message)


async def test_wan26_image_edit_takes_1_to_4_images_and_n_up_to_4(emu: Emulator, photo: str, square: str) -> None:
    answer = await sync_ok(emu, "wan2.6-image", content(photo, square, photo, square))
    assert answer["usage"]["image_count"] == 4 and answer["usage"]["size"] == "1280*1280"  # the last is square
    edit_rule = "1 to 4 images are required when enable_interleave is false."
    assert_error(await sync_call(emu, "wan2.6-image", content()), 400, "InvalidParameter", edit_rule)
    five = await sync_call(emu, "wan2.6-image", content(*[photo] * 5))
    assert_error(five, 400, "InvalidParameter", edit_rule)
    assert_error(await sync_call(emu, "wan2.6-image", content(photo), n=5), 400, "InvalidParameter",
                 "Range of n should be [1, 4]")  # fmt: skip


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (png_bytes(239, 300), "The resolution of image is invalid: width and height must each be in [240, 8000] "
         "pixels, got 239*300."),
        (png_bytes(300, 300, kind="GIF"), "The format of image is not supported, supported formats: JPG, JPEG, PNG, "
         "BMP, WEBP."),
    ],
)  # fmt: skip
async def test_wan26_image_input_checks(emu: Emulator, files: FileServer, data: bytes, message: str) -> None:
    url = files.add(f"lineup/w26-{len(data)}.img", data)
    assert_error(await sync_call(emu, "wan2.6-image", content(url)), 400, "InvalidParameter", message)
    small = files.add("lineup/w26-240.png", png_bytes(240, 240))
    await sync_ok(emu, "wan2.6-image", content(small), n=1)


async def test_wan26_image_interleave_must_stream_when_synchronous(emu: Emulator) -> None:
    response = await sync_call(emu, "wan2.6-image", content(), enable_interleave=True)
    message = "The parameter stream must be true when enable_interleave is true."
    assert_error(response, 400, "InvalidParameter", message)


async def test_wan26_image_interleave_streams_text_and_pictures(emu: Emulator) -> None:
    response = await sync_call(emu, "wan2.6-image", content(text="a 2-step kite tutorial"), headers=SSE,
                               enable_interleave=True, max_images=2)  # fmt: skip
    events = sse_events(response)
    assert all(event == "result" and status == 200 for event, status, _ in events)
    parts = [data["output"]["choices"][0]["message"]["content"][0] for _, _, data in events]
    reasons = [data["output"]["choices"][0]["finish_reason"] for _, _, data in events]
    assert reasons == ["null"] * (len(events) - 1) + ["stop"]
    assert [data["output"]["finished"] for _, _, data in events][-2:] == [False, True]
    kinds = [part["type"] for part in parts]
    assert kinds.count("image") == 2 and kinds[0] == "text" and kinds[-1] == "image"
    first_usage, last_usage = events[0][2]["usage"], events[-1][2]["usage"]
    assert first_usage["size"] == "0*0" and first_usage["image_count"] == 0
    assert last_usage["image_count"] == 2 and last_usage["size"] == "1280*1280"
    assert last_usage["total_tokens"] == last_usage["input_tokens"] + last_usage["output_tokens"] > 0
    image = next(part["image"] for part in parts if part["type"] == "image")
    assert await picture_size(emu, image) == (1280, 1280)


async def test_wan26_image_interleave_with_one_picture_keeps_its_size(emu: Emulator, photo: str) -> None:
    response = await sync_call(emu, "wan2.6-image", content(photo), enable_interleave=True, stream=True, max_images=1)
    events = sse_events(response)
    assert events[-1][2]["usage"]["size"] == "640*480"


@pytest.mark.parametrize(
    ("images", "params", "message"),
    [
        (2, {}, "At most 1 image is supported when enable_interleave is true."),
        (0, {"n": 2}, "num_images_per_prompt must be 1"),
        (0, {"max_images": 6}, "Range of max_images should be [1, 5]"),
        (0, {"max_images": 0}, "Range of max_images should be [1, 5]"),
        (0, {"size": "1440*1440"}, "The size is not match the allowed size: total pixels must be in [768*768, "
         "1280*1280] and the aspect ratio in [1:4, 4:1], e.g. '1280*1280', got '1440*1440'"),
        (0, {"enable_interleave": "true"}, "Parameter enable_interleave must be a boolean, got 'true'"),
    ],
)  # fmt: skip
async def test_wan26_image_interleave_refusals_arrive_as_sse_errors(
    emu: Emulator, photo: str, images: int, params: dict[str, Any], message: str
) -> None:
    params = {"enable_interleave": True, **params}
    response = await sync_call(emu, "wan2.6-image", content(*[photo] * images), headers=SSE, **params)
    ((event, status, data),) = sse_events(response)
    assert (response.status_code, event, status, data["code"], data["message"]) == (
        200, "error", 400, "InvalidParameter", message
    )  # fmt: skip


async def test_wan26_image_async_edit_and_interleave(emu: Emulator, photo: str) -> None:
    edit = await task_output(emu, GENERATION, body("wan2.6-image", content(photo), n=2, size="2K"))
    assert len(edit["output"]["choices"]) == 2 and edit["usage"]["size"] == "2368*1776"
    mixed = await task_output(emu, GENERATION, body("wan2.6-image", content(), enable_interleave=True, max_images=3))
    (choice,) = mixed["output"]["choices"]
    assert [part["type"] for part in choice["message"]["content"]] == ["text", "image"] * 3
    usage = mixed["usage"]
    assert usage["image_count"] == 3 and usage["size"] == "1280*1280" and usage["output_tokens"] > 0


# --- qwen-image-3.0 --------------------------------------------------------------------------------------


async def test_qwen3_generates_with_the_qima_usage_block(emu: Emulator) -> None:
    answer = await sync_ok(emu, "qwen-image-3.0", content(), n=2)
    assert answer["usage"] == {
        "output_height": 1024,
        "output_width": 1024,
        "input_image_count": 0,
        "input_image_type": "qima_input_1k",
        "output_image_count": 2,
        "output_image_type": "qima_output_1k",
    }
    (choice,) = answer["output"]["choices"]
    assert [set(part) for part in choice["message"]["content"]] == [{"image"}, {"image"}]
    assert "finished" not in answer["output"]
    assert await picture_size(emu, image_urls(answer)[0]) == (1024, 1024)


async def test_qwen3_edits_one_to_three_images(emu: Emulator, photo: str, square: str) -> None:
    answer = await sync_ok(emu, "qwen-image-3.0", content(square, photo))
    usage = answer["usage"]
    assert (usage["output_width"], usage["output_height"], usage["input_image_count"]) == (1184, 880, 2)
    four = await sync_call(emu, "qwen-image-3.0", content(*[photo] * 4))
    assert_error(four, 400, "InvalidParameter", "0 images = T2I mode, 1~3 images = I2I mode.")


@pytest.mark.parametrize(("size", "tier"), [("512*512", "1k"), ("1500*1500", "1k"), ("1504*1500", "2k"),
                                            ("4096*512", "1k"), ("2048*2048", "2k")])  # fmt: skip
async def test_qwen3_sizes_and_tiers(emu: Emulator, size: str, tier: str) -> None:
    usage = (await sync_ok(emu, "qwen-image-3.0-pro", content(), size=size))["usage"]
    assert f"{usage['output_width']}*{usage['output_height']}" == size
    assert usage["output_image_type"] == f"qima_output_{tier}" and usage["input_image_type"] == "qima_input_1k"


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"size": "511*512"}, "The size is not match the allowed size: total pixels must be in [512*512, 2048*2048] "
         "and the aspect ratio in [1:8, 8:1], e.g. '1024*1024', got '511*512'"),
        ({"size": "2048*2049"}, None),
        ({"size": "4160*512"}, None),
        ({"n": 7}, "Range of n should be [1, 6]"),
        ({"n": 0}, "Range of n should be [1, 6]"),
        ({"prompt_extend_mode": "smart"}, "The prompt_extend_mode must be 'direct' or 'agent', got 'smart'"),
        ({"watermark": 1}, "Parameter watermark must be a boolean, got 1"),
    ],
)  # fmt: skip
async def test_qwen3_refusals(emu: Emulator, params: dict[str, Any], message: str | None) -> None:
    assert_error(await sync_call(emu, "qwen-image-3.0", content(), **params), 400, "InvalidParameter", message)


async def test_qwen3_agent_mode_is_text_to_image_only(emu: Emulator, photo: str) -> None:
    await sync_ok(emu, "qwen-image-3.0", content(), prompt_extend_mode="agent")
    response = await sync_call(emu, "qwen-image-3.0", content(photo), prompt_extend_mode="agent")
    message = "The prompt_extend_mode 'agent' only supports text-to-image requests (no image)."
    assert_error(response, 400, "InvalidParameter", message)


async def test_qwen3_input_images_are_384_to_2048_a_side(emu: Emulator, files: FileServer) -> None:
    big = files.add("lineup/q3-big.png", png_bytes(2049, 400))
    message = ("The resolution of image is invalid: width and height must each be in [384, 2048] pixels, "
               "got 2049*400.")  # fmt: skip
    assert_error(await sync_call(emu, "qwen-image-3.0", content(big)), 400, "InvalidParameter", message)


async def test_qwen3_runs_as_an_async_task_but_not_on_text2image(emu: Emulator, photo: str) -> None:
    task = await task_output(emu, GENERATION, body("qwen-image-3.0", content(photo), n=2, size="768*1024"))
    output = task["output"]
    assert output["task_status"] == "SUCCEEDED" and "task_metrics" not in output
    assert len(output["choices"]) == 1 and len(output["choices"][0]["message"]["content"]) == 2
    assert task["usage"]["input_image_count"] == 1 and task["usage"]["output_image_count"] == 2
    assert await picture_size(emu, output["choices"][0]["message"]["content"][0]["image"]) == (768, 1024)
    on_text2image = await emu.submit("qwen-image-3.0")
    assert_error(on_text2image, 400, "InvalidParameter", "Model not exist.")


async def test_qwen3_reads_uploaded_files_only_with_the_resolve_header(emu: Emulator) -> None:
    query = {"action": "getPolicy", "model": "qwen-image-3.0"}
    policy = (await emu.http.get(UPLOADS, params=query, headers=AUTH)).json()["data"]
    assert (await upload(emu, policy, png_bytes())).status_code == 200
    items = content(f"oss://{policy['upload_dir']}/photo.png")
    message = "The provided URL does not appear to be valid. Ensure it is correctly formatted."
    assert_error(await sync_call(emu, "qwen-image-3.0", items), 400, "InvalidParameter", message)
    resolved = await sync_call(emu, "qwen-image-3.0", items, headers={**AUTH, **RESOLVE})
    assert resolved.status_code == 200 and resolved.json()["usage"]["input_image_count"] == 1
