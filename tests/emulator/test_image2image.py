"""wanx2.1-imageedit (protocol §6): functions, inputs, per-function parameters and result sizes."""

from __future__ import annotations

import io
from typing import Any

import httpx
import pytest
from PIL import Image

from bailian_mcp.emulator.image2image import FUNCTIONS
from tests.support.emulator_app import ASYNC, AUTH, I2I, Emulator, assert_error
from tests.support.emulators import FileServer
from tests.support.media import png_bytes


@pytest.fixture
def base(files: FileServer) -> str:
    return files.add("i2i/base.png", png_bytes(800, 600))


@pytest.fixture
def mask(files: FileServer) -> str:
    return files.add("i2i/mask.png", png_bytes(800, 600, (255, 255, 255)))


async def submit(
    emu: Emulator, payload: dict[str, Any], headers: dict[str, str] = ASYNC, **params: Any
) -> httpx.Response:
    return await emu.http.post(
        I2I, headers=headers, json={"model": "wanx2.1-imageedit", "input": payload, "parameters": params}
    )


async def finished(emu: Emulator, payload: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = await submit(emu, payload, **params)
    assert response.status_code == 200, response.text
    emu.clock.advance(10)
    return await emu.task(response.json()["output"]["task_id"])


def edit(function: str, base: str, **extra: Any) -> dict[str, Any]:
    return {"function": function, "prompt": "make it shine", "base_image_url": base, **extra}


async def sizes(emu: Emulator, body: dict[str, Any]) -> list[tuple[int, int]]:
    return [Image.open(io.BytesIO((await emu.http.get(r["url"])).content)).size for r in body["output"]["results"]]


@pytest.mark.parametrize("function", [f for f in FUNCTIONS if f != "description_edit_with_mask"])
async def test_every_function_edits_the_base_image(emu: Emulator, base: str, function: str) -> None:
    body = await finished(emu, edit(function, base))
    output = body["output"]
    assert output["task_status"] == "SUCCEEDED"
    assert [set(result) for result in output["results"]] == [{"url"}]
    assert output["task_metrics"] == {"TOTAL": 1, "SUCCEEDED": 1, "FAILED": 0}
    assert body["usage"] == {"image_count": 1}
    assert await sizes(emu, body) == [(800, 600)]


async def test_masked_edit_uses_a_mask_of_the_same_size(emu: Emulator, base: str, mask: str) -> None:
    body = await finished(emu, edit("description_edit_with_mask", base, mask_image_url=mask), n=2)
    assert await sizes(emu, body) == [(800, 600), (800, 600)]


async def test_expand_grows_each_side_by_its_scale(emu: Emulator, base: str) -> None:
    body = await finished(emu, edit("expand", base), top_scale=1.5, bottom_scale=1.5, left_scale=2.0, right_scale=1.0)
    assert await sizes(emu, body) == [(1600, 1200)]
    picture_bytes = (await emu.http.get(body["output"]["results"][0]["url"])).content
    expanded = Image.open(io.BytesIO(picture_bytes)).convert("RGB")
    assert expanded.getpixel((1200, 600)) == (200, 40, 40)  # the original sits right of the new left part


async def test_super_resolution_multiplies_the_size(emu: Emulator, base: str) -> None:
    assert await sizes(emu, await finished(emu, edit("super_resolution", base), upscale_factor=3)) == [(2400, 1800)]


async def test_results_never_exceed_4096_pixels_a_side(emu: Emulator, files: FileServer) -> None:
    large = files.add("i2i/large.png", png_bytes(2048, 1024))
    assert await sizes(emu, await finished(emu, edit("super_resolution", large), upscale_factor=4)) == [(4096, 2048)]


async def test_n_pictures_differ(emu: Emulator, base: str) -> None:
    body = await finished(emu, edit("stylization_all", base), n=4, seed=3, strength=0.9)
    pictures = {(await emu.http.get(result["url"])).content for result in body["output"]["results"]}
    assert len(pictures) == 4 and body["usage"] == {"image_count": 4}


async def test_long_prompts_are_truncated(emu: Emulator, base: str) -> None:
    response = await submit(emu, {**edit("colorization", base), "prompt": "字" * 900})
    assert response.status_code == 200
    task = emu.state.tasks.get(response.json()["output"]["task_id"], emu.clock())
    assert task is not None and task.job.prompt == "字" * 800  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"prompt": "x", "base_image_url": "http://a.test/b.png"},
         "Required parameter(function) missing or invalid, please check the request parameters."),
        ({"function": "paint_it_black", "prompt": "x", "base_image_url": "http://a.test/b.png"},
         "The function 'paint_it_black' is not supported, it must be one of " + str(list(FUNCTIONS))),
        ({"function": "expand", "base_image_url": "http://a.test/b.png"},
         "Required parameter(prompt) missing or invalid, please check the request parameters."),
        ({"function": "expand", "prompt": "x"},
         "Required parameter(base_image_url) missing or invalid, please check the request parameters."),
        ({"function": "description_edit_with_mask", "prompt": "x", "base_image_url": "http://a.test/b.png"},
         "Required parameter(mask_image_url) missing or invalid, please check the request parameters."),
    ],
)  # fmt: skip
async def test_input_rules(emu: Emulator, payload: dict[str, Any], message: str) -> None:
    assert_error(await submit(emu, payload), 400, "InvalidParameter", message)


@pytest.mark.parametrize(
    ("function", "params", "message"),
    [
        ("expand", {"n": 5}, "Range of n should be [1, 4]"),
        ("expand", {"n": 0}, "Range of n should be [1, 4]"),
        ("expand", {"seed": 2147483648}, "Range of seed should be [0, 2147483647]"),
        ("expand", {"watermark": "yes"}, "Parameter watermark must be a boolean, got 'yes'"),
        ("stylization_all", {"strength": 1.5}, "Range of strength should be [0.0, 1.0]"),
        ("description_edit", {"strength": -0.1}, "Range of strength should be [0.0, 1.0]"),
        ("expand", {"top_scale": 2.5}, "Range of top_scale should be [1.0, 2.0]"),
        ("expand", {"left_scale": 0.9}, "Range of left_scale should be [1.0, 2.0]"),
        ("expand", {"bottom_scale": "1.5"}, "Range of bottom_scale should be [1.0, 2.0]"),
        ("super_resolution", {"upscale_factor": 5}, "Range of upscale_factor should be [1, 4]"),
        ("super_resolution", {"upscale_factor": 2.0}, "Range of upscale_factor should be [1, 4]"),
        ("doodle", {"is_sketch": "true"}, "Parameter is_sketch must be a boolean, got 'true'"),
    ],
)
async def test_parameter_rules(emu: Emulator, base: str, function: str, params: dict[str, Any], message: str) -> None:
    assert_error(await submit(emu, edit(function, base), **params), 400, "InvalidParameter", message)


async def test_misplaced_function_parameters_are_ignored(emu: Emulator, base: str, mask: str) -> None:
    params = {"upscale_factor": 99, "top_scale": 9, "strength": 7, "is_sketch": "x"}
    body = await finished(emu, edit("colorization", base, mask_image_url=mask), **params)
    assert await sizes(emu, body) == [(800, 600)]


RESOLUTION = "The resolution of base_image_url is invalid: width and height must each be in [512, 4096] pixels, got "


@pytest.mark.parametrize(
    ("width", "height", "kind", "message"),
    [
        (511, 600, "PNG", RESOLUTION + "511*600."),
        (800, 4097, "PNG", RESOLUTION + "800*4097."),
        (600, 600, "GIF", "The format of base_image_url is not supported, supported formats: "
         "JPG, JPEG, PNG, BMP, TIFF, WEBP."),
    ],
)  # fmt: skip
async def test_base_image_checks(
    emu: Emulator, files: FileServer, width: int, height: int, kind: str, message: str
) -> None:
    url = files.add(f"i2i/bad-{width}-{height}.{kind.lower()}", png_bytes(width, height, kind=kind))
    assert_error(await submit(emu, edit("expand", url)), 400, "InvalidParameter", message)


async def test_mask_must_match_the_base_resolution(emu: Emulator, files: FileServer, base: str) -> None:
    small = files.add("i2i/small-mask.png", png_bytes(640, 600))
    response = await submit(emu, edit("description_edit_with_mask", base, mask_image_url=small))
    assert_error(
        response,
        400,
        "InvalidParameter",
        "The resolution of mask_image_url must be the same as base_image_url, got 640*600 and 800*600.",
    )


async def test_unreachable_base_image(emu: Emulator, files: FileServer) -> None:
    response = await submit(emu, edit("expand", files.url("i2i/nothing.png")))
    assert_error(response, 400, "InvalidParameter", "url error, please check url！")


async def test_async_only(emu: Emulator, base: str) -> None:
    response = await submit(emu, edit("expand", base), headers=AUTH)
    assert_error(response, 403, "AccessDenied", "current user api does not support synchronous calls.")


async def test_fail_and_partial_triggers(emu: Emulator, base: str) -> None:
    failed = await finished(emu, {**edit("expand", base), "prompt": "x [emulator:fail]"}, n=2)
    assert failed["output"]["task_status"] == "FAILED" and failed["output"]["code"] == "InternalError.Algo"
    assert failed["output"]["task_metrics"] == {"TOTAL": 2, "SUCCEEDED": 0, "FAILED": 2}
    partial = await finished(emu, {**edit("expand", base), "prompt": "x [emulator:partial]"}, n=2)
    assert partial["output"]["task_status"] == "SUCCEEDED"
    assert partial["output"]["results"][1]["code"] == "InternalError.Timeout"
    assert partial["usage"] == {"image_count": 1}


async def test_inspect_trigger_is_refused_before_any_download(emu: Emulator, files: FileServer) -> None:
    url = files.add("i2i/inspected.png", png_bytes(800, 600))
    response = await submit(emu, {**edit("expand", url), "prompt": "[emulator:inspect]"})
    assert_error(response, 400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    assert files.requests.get("/i2i/inspected.png") is None
