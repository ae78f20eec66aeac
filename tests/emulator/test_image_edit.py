"""qwen-image-edit on the multimodal-generation endpoint (protocol §5): message rules, image checks,
parameters, and real edited PNGs behind signed URLs; plus the synchronous qwen-image alternative."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from bailian_mcp.emulator.outputs import OutputStore
from bailian_mcp.emulator.tasks import ResultFile
from tests.support.emulator_app import ASYNC, AUTH, MULTIMODAL, Emulator, MakeEmulator, assert_error
from tests.support.emulators import FileServer
from tests.support.media import data_uri, png_bytes


def content(*images: str, text: str | None = "make the sky purple") -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [{"image": image} for image in images]
    return [*items, {"text": text}] if text is not None else items


async def call(
    emu: Emulator,
    items: list[dict[str, Any]],
    model: str = "qwen-image-edit",
    headers: dict[str, str] = AUTH,
    **params: Any,
) -> httpx.Response:
    body = {"model": model, "input": {"messages": [{"role": "user", "content": items}]}, "parameters": params}
    return await emu.http.post(MULTIMODAL, headers=headers, json=body)


async def ok(
    emu: Emulator, items: list[dict[str, Any]], model: str = "qwen-image-edit", **params: Any
) -> dict[str, Any]:
    response = await call(emu, items, model, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def urls(body: dict[str, Any]) -> list[str]:
    return [item["image"] for item in body["output"]["choices"][0]["message"]["content"]]


@pytest.fixture
def photo(files: FileServer) -> str:
    return files.add("edit/photo.png", png_bytes(640, 480))


async def test_edit_answers_one_png_of_the_input_size(emu: Emulator, photo: str) -> None:
    body = await ok(emu, content(photo))
    assert list(body) == ["output", "usage", "request_id"]
    (choice,) = body["output"]["choices"]
    assert choice["finish_reason"] == "stop" and choice["message"]["role"] == "assistant"
    assert body["usage"] == {"width": 640, "height": 480, "image_count": 1}
    (url,) = urls(body)
    download = await emu.http.get(url)
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    edited = Image.open(io.BytesIO(download.content))
    assert (edited.format, edited.size) == ("PNG", (640, 480))
    assert edited.convert("RGB").getpixel((320, 100)) != (200, 40, 40)  # visibly changed


async def test_result_url_is_signed_and_expires(make_emulator: MakeEmulator, photo: str) -> None:
    emu = await make_emulator(result_url_ttl_seconds=60)
    (url,) = urls(await ok(emu, content(photo)))
    assert "Expires=" in url and "Signature=" in url
    emu.clock.advance(61)
    assert (await emu.http.get(url)).status_code == 403


async def test_plus_takes_three_images_n_and_size(emu: Emulator, files: FileServer, photo: str) -> None:
    other = files.add("edit/other.jpg", png_bytes(500, 700, (10, 120, 220), kind="JPEG"))
    inline = data_uri(png_bytes(400, 400, kind="WEBP"), "image/webp")
    body = await ok(emu, content(photo, other, inline), "qwen-image-edit-plus", n=3, size="1024*768", seed=5)
    assert body["usage"] == {"width": 1024, "height": 768, "image_count": 3}
    pictures = [(await emu.http.get(url)).content for url in urls(body)]
    assert len(set(pictures)) == 3  # seed, seed+1, seed+2
    assert all(Image.open(io.BytesIO(data)).size == (1024, 768) for data in pictures)


async def test_plus_defaults_to_the_last_inputs_size(emu: Emulator, files: FileServer, photo: str) -> None:
    other = files.add("edit/tall.png", png_bytes(500, 700))
    assert (await ok(emu, content(photo, other), "qwen-image-edit-plus"))["usage"]["width"] == 500


async def test_same_request_same_pixels(emu: Emulator, photo: str) -> None:
    first = await ok(emu, content(photo), seed=1)
    again = await ok(emu, content(photo), seed=1)
    assert (await emu.http.get(urls(first)[0])).content == (await emu.http.get(urls(again)[0])).content


@pytest.mark.parametrize("kind", ["JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"])
async def test_every_documented_format_is_accepted(emu: Emulator, kind: str) -> None:
    inline = data_uri(png_bytes(400, 400, kind=kind), f"image/{kind.lower()}")
    await ok(emu, content(inline))


@pytest.mark.parametrize(
    ("body_input", "message"),
    [
        ({}, "No messages found in input"),
        ({"messages": []}, "No messages found in input"),
        ({"messages": [{"role": "user", "content": []}] * 2}, "messages length only support 1"),
        ({"messages": [{"role": "assistant", "content": [{"text": "x"}]}]}, "Role of the message must be user"),
        ({"messages": [{"role": "user", "content": "just text"}]}, "lack of image or text"),
    ],
)
async def test_message_rules(emu: Emulator, body_input: dict[str, Any], message: str) -> None:
    body = {"model": "qwen-image-edit", "input": body_input}
    assert_error(await emu.http.post(MULTIMODAL, headers=AUTH, json=body), 400, "InvalidParameter", message)


@pytest.mark.parametrize(
    ("model", "items", "message"),
    [
        ("qwen-image-edit", content("http://a.test/1.png", "http://a.test/2.png"), "content length only support 2"),
        ("qwen-image-edit", content(text=None), "lack of image or text"),
        ("qwen-image-edit", content("http://a.test/1.png", text=None), "lack of image or text"),
        ("qwen-image-edit", content("http://a.test/1.png", text=" "), "lack of image or text"),
        ("qwen-image-edit", [{"image": "http://a.test/1.png"}, {"video": "x"}], "lack of image or text"),
        ("qwen-image-edit-plus", content(*["http://a.test/1.png"] * 4), "content length only support 4"),
        ("qwen-image-edit-plus", [{"text": "a"}, {"text": "b"}], "lack of image or text"),
        ("qwen-image", content("http://a.test/1.png"), "content length only support 1"),
        ("qwen-image", [{"image": "http://a.test/1.png"}], "lack of image or text"),
    ],
)
async def test_content_rules(emu: Emulator, model: str, items: list[dict[str, Any]], message: str) -> None:
    assert_error(await call(emu, items, model), 400, "InvalidParameter", message)


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        ("qwen-image-edit", {"n": 2}, "num_images_per_prompt must be 1."),
        ("qwen-image-edit-plus", {"n": 7}, "Range of n should be [1, 6]"),
        ("qwen-image-edit-plus", {"n": 0}, "Range of n should be [1, 6]"),
        ("qwen-image-edit", {"seed": -1}, "Range of seed should be [0, 2147483647]"),
        ("qwen-image-edit", {"watermark": "no"}, "Parameter watermark must be a boolean, got 'no'"),
        ("qwen-image-edit-plus", {"prompt_extend": 1}, "Parameter prompt_extend must be a boolean, got 1"),
        (
            "qwen-image-edit",
            {"negative_prompt": "x" * 501},
            "The length of negative_prompt exceeds the limit of 500 characters.",
        ),
    ],
)
async def test_parameter_rules(emu: Emulator, photo: str, model: str, params: dict[str, Any], message: str) -> None:
    assert_error(await call(emu, content(photo), model, **params), 400, "InvalidParameter", message)


@pytest.mark.parametrize("size", ["511*1024", "1024*2049", "1024x1024", 1024])
async def test_plus_size_sides_are_within_512_to_2048(emu: Emulator, photo: str, size: object) -> None:
    response = await call(emu, content(photo), "qwen-image-edit-plus", size=size)
    message = (
        "The size is not match the allowed size: width and height must each be in [512, 2048], "
        f"e.g. '1024*1024', got {size!r}"
    )
    assert_error(response, 400, "InvalidParameter", message)


async def test_size_is_ignored_by_the_base_model(emu: Emulator, photo: str) -> None:
    assert (await ok(emu, content(photo), size="1*1"))["usage"]["width"] == 640


async def test_text_over_800_characters_is_refused(emu: Emulator, photo: str) -> None:
    await ok(emu, content(photo, text="字" * 800))
    response = await call(emu, content(photo, text="字" * 801))
    assert_error(response, 400, "InvalidParameter", "The length of text exceeds the limit of 800 characters.")


@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("small.png", png_bytes(383, 500), "The resolution of image is invalid: width and height must each be in "
         "[384, 3072] pixels, got 383*500."),
        ("huge.png", png_bytes(3073, 400), "The resolution of image is invalid: width and height must each be in "
         "[384, 3072] pixels, got 3073*400."),
        ("text.png", b"not a picture at all", "The format of image is not supported, supported formats: "
         "JPG, JPEG, PNG, BMP, TIFF, WEBP, GIF."),
        ("pic.ico", png_bytes(400, 400, kind="ICO"), "The format of image is not supported, supported formats: "
         "JPG, JPEG, PNG, BMP, TIFF, WEBP, GIF."),
    ],
)  # fmt: skip
async def test_image_checks(emu: Emulator, files: FileServer, name: str, data: bytes, message: str) -> None:
    url = files.add(f"edit/{name}", data)
    assert_error(await call(emu, content(url)), 400, "InvalidParameter", message)


async def test_an_image_over_10_mb_is_refused(emu: Emulator, files: FileServer) -> None:
    url = files.add("edit/big.bmp", b"BM" + b"\x00" * (10 * 1024 * 1024))
    response = await call(emu, content(url))
    assert_error(response, 400, "InvalidParameter", "The size of image exceeds the limit of 10MB.")


@pytest.mark.parametrize(
    "url", ["edit/missing.png", "http://127.0.0.1:9/a.png", "http://例子.test/猫.png", "ftp://x/a.png"]
)
async def test_unusable_urls_are_url_errors(emu: Emulator, files: FileServer, url: str) -> None:
    target = files.url(url) if not url.startswith(("http", "ftp")) else url
    assert_error(await call(emu, content(target)), 400, "InvalidParameter", "url error, please check url！")


async def test_bad_base64_is_refused(emu: Emulator) -> None:
    response = await call(emu, content("data:image/png;base64,@@@"))
    assert_error(response, 400, "InvalidParameter", "The base64 data of the data URI is invalid.")


async def test_oss_key_without_resolve_header(emu: Emulator) -> None:
    response = await call(emu, content("oss://dashscope-instant/x/photo.png"))
    assert_error(
        response,
        400,
        "InvalidParameter",
        "The provided URL does not appear to be valid. Ensure it is correctly formatted.",
    )


async def test_async_header_is_refused(emu: Emulator, photo: str) -> None:
    response = await call(emu, content(photo), headers=ASYNC)
    assert_error(response, 403, "AccessDenied", "Current user api does not support asynchronous calls.")


async def test_unknown_model(emu: Emulator, photo: str) -> None:
    assert_error(await call(emu, content(photo), "qwen-image-edit-max9"), 400, "InvalidParameter", "Model not exist.")


async def test_inspect_trigger(emu: Emulator, photo: str) -> None:
    response = await call(emu, content(photo, text="edit [emulator:inspect]"))
    assert_error(response, 400, "DataInspectionFailed", "Input data may contain inappropriate content.")


async def test_fail_trigger(emu: Emulator, photo: str) -> None:
    response = await call(emu, content(photo, text="edit [emulator:fail]"))
    assert_error(response, 500, "InternalError.Algo", "Inference error: emulated failure.")


async def test_qwen_image_text_only_generates_synchronously(emu: Emulator) -> None:
    body = await ok(emu, [{"text": "a lighthouse"}], "qwen-image-plus", size="1328*1328")
    assert body["usage"] == {"width": 1328, "height": 1328, "image_count": 1}
    picture_bytes = (await emu.http.get(urls(body)[0])).content
    assert Image.open(io.BytesIO(picture_bytes)).size == (1328, 1328)
    default = await ok(emu, [{"text": "a lighthouse"}], "qwen-image")
    assert (default["usage"]["width"], default["usage"]["height"]) == (1664, 928)


async def test_qwen_image_refuses_other_sizes_and_n(emu: Emulator) -> None:
    response = await call(emu, [{"text": "x"}], "qwen-image", size="1024*1024")
    sizes = ["1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"]
    assert_error(response, 400, "InvalidParameter", f"The size is not match the allowed size {sizes}")
    assert_error(
        await call(emu, [{"text": "x"}], "qwen-image", n=2), 400, "InvalidParameter", "num_images_per_prompt must be 1."
    )


def test_output_store_forgets_old_and_excess_answers() -> None:
    store = OutputStore(ttl=10.0, limit=2)
    file = ResultFile("1.png", "image/png", lambda: b"")
    first, second = store.add([file], 0.0), store.add([file], 1.0)
    assert store.file(first.output_id, "1.png", 5.0) is file
    third = store.add([file], 2.0)
    assert store.file(first.output_id, "1.png", 2.0) is None  # over the limit
    assert store.file(second.output_id, "2.png", 2.0) is None
    assert store.file(third.output_id, "1.png", 12.5) is None  # expired
