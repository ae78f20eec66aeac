"""The 2026 video lineup on the emulator: text-, image-, keyframe- and reference-to-video, each model's rules
accepted and refused at their edges (a 400 at submission for the 2.2-2.6 models, a FAILED task for wan2.7), the
usage block of each family and real MP4s of the asked size and length."""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from bailian_mcp.emulator.mp4 import pcm_macroblocks, write_mp4
from bailian_mcp.emulator.upload_store import StoredFile
from bailian_mcp.emulator.video_inputs import probe_video
from bailian_mcp.emulator.video_render import Scene, fit_tier, render
from tests.support.emulator_app import ASYNC, AUTH, RESOLVE, T2V, Emulator, assert_error
from tests.support.emulators import FileServer
from tests.support.media import data_uri, mp3_bytes, mp4_facts, png_bytes, wav_bytes

KF2V = "/api/v1/services/aigc/image2video/video-synthesis"
SDK_EXTRAS = {"extend_prompt": True, "function": "video-synthesis"}
"""What the SDK 1.x always adds to ``input``."""


def clip_bytes(width: int = 320, height: int = 240, seconds: int = 3) -> bytes:
    """A real (still) MP4 of ``width*height`` and ``seconds``."""
    luma, chroma = bytes([81]) * (width * height), bytes([90]) * (width * height // 4)
    return write_mp4(width, height, pcm_macroblocks(luma, chroma, chroma, width, height), seconds, 30)


@pytest.fixture(scope="module")
def media(files: FileServer) -> dict[str, str]:
    """Loopback URLs of the inputs the tests use."""
    made = {
        "frame": png_bytes(750, 1000),
        "wide": png_bytes(800, 600),
        "tiny": png_bytes(200, 300),
        "slim": png_bytes(240, 2400),
        "tall": png_bytes(240, 5008),
        "gif": png_bytes(400, 400, kind="GIF"),
        "wav3": wav_bytes(3, 8000),
        "wav2": wav_bytes(2, 8000),
        "wav1": wav_bytes(1, 8000),
        "wav11": wav_bytes(11, 8000),
        "wav31": wav_bytes(31, 8000),
        "mp3": mp3_bytes(160),  # 4.2 s
        "huge": bytes(16 * 1024 * 1024),
        "clip3": clip_bytes(),
        "clip10": clip_bytes(seconds=10),
        "clip12": clip_bytes(seconds=12),
        "clip31": clip_bytes(seconds=31),
        "portrait_clip": clip_bytes(480, 640, 3),
    }
    return {name: files.add(f"lineup/{name}", data) for name, data in made.items()}


@pytest.fixture(scope="module")
def big_png(files: FileServer) -> str:
    """A picture of about 10.8 MB: over the 10 MB of wan2.2/wanx2.1, under the 20 MB of wan2.5/2.6."""
    return files.add("lineup/big.png", png_bytes(1900, 1900, noise=True))


def fill(media: dict[str, str], value: Any) -> Any:
    """``value`` with each upper-case placeholder (``"FRAME"``) replaced by that input's URL."""
    if isinstance(value, str) and value.isupper():
        return media[value.lower()]
    if isinstance(value, list):
        return [fill(media, item) for item in value]
    if isinstance(value, dict):
        return {key: fill(media, item) for key, item in value.items()}
    return value


async def submit(
    emu: Emulator,
    model: str,
    payload: dict[str, Any],
    params: dict[str, Any] | None = None,
    *,
    path: str = T2V,
    headers: dict[str, str] = ASYNC,
) -> httpx.Response:
    body: dict[str, Any] = {"model": model, "input": {**SDK_EXTRAS, **payload}}
    if params is not None:
        body["parameters"] = params
    return await emu.http.post(path, headers=headers, json=body)


async def finished(emu: Emulator, *args: Any, **kwargs: Any) -> dict[str, Any]:
    response = await submit(emu, *args, **kwargs)
    assert response.status_code == 200, response.text
    emu.clock.advance(10)
    return await emu.task(response.json()["output"]["task_id"])


async def succeeded(emu: Emulator, *args: Any, **kwargs: Any) -> dict[str, Any]:
    body = await finished(emu, *args, **kwargs)
    assert body["output"]["task_status"] == "SUCCEEDED", body
    assert "task_metrics" not in body["output"]
    return body


async def failed(emu: Emulator, *args: Any, **kwargs: Any) -> str:
    """The message of a task that the service accepts and then fails with ``InvalidParameter``."""
    output = (await finished(emu, *args, **kwargs))["output"]
    assert (output["task_status"], output["code"]) == ("FAILED", "InvalidParameter"), output
    assert "video_url" not in output
    return str(output["message"])


async def video_of(emu: Emulator, body: dict[str, Any]) -> dict[str, object]:
    download = await emu.http.get(body["output"]["video_url"])
    assert download.status_code == 200 and download.headers["content-type"] == "video/mp4"
    return mp4_facts(download.content)


# --- text-to-video, legacy size protocol ------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "usage", "actual"),
    [
        ("wan2.2-t2v-plus", {"video_duration": 5, "video_ratio": "1920*1080", "video_count": 1}, True),
        ("wan2.5-t2v-preview", {"video_duration": 5, "video_ratio": "1920*1080", "video_count": 1}, True),
        (
            "wan2.6-t2v",
            {
                "duration": 5,
                "size": "1920*1080",
                "input_video_duration": 0,
                "output_video_duration": 5,
                "video_count": 1,
                "SR": 1080,
            },
            False,
        ),
    ],
)
async def test_legacy_text_to_video_defaults_and_usage(
    emu: Emulator, model: str, usage: dict[str, Any], actual: bool
) -> None:
    body = await succeeded(emu, model, {"prompt": "a cat under the moon"})
    assert body["usage"] == usage
    assert body["output"]["orig_prompt"] == "a cat under the moon"
    assert ("actual_prompt" in body["output"]) is actual
    assert await video_of(emu, body) == {"seconds": 5.0, "size": (1920, 1080), "frames": 150}


@pytest.mark.parametrize(
    ("model", "size", "allowed"),
    [
        ("wan2.2-t2v-plus", "832*480", True),
        ("wan2.2-t2v-plus", "1632*1248", True),
        ("wan2.2-t2v-plus", "1280*720", False),
        ("wan2.5-t2v-preview", "1280*720", True),
        ("wan2.5-t2v-preview", "624*624", True),
        ("wan2.5-t2v-preview", "1920*1088", False),
        ("wan2.6-t2v", "1088*832", True),
        ("wan2.6-t2v", "1248*1632", True),
        ("wan2.6-t2v", "832*480", False),
        ("wan2.6-t2v", "720P", False),
    ],
)
async def test_legacy_text_sizes(emu: Emulator, model: str, size: str, allowed: bool) -> None:
    response = await submit(emu, model, {"prompt": "p"}, {"size": size})
    if allowed:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, "InvalidParameter")
        assert response.json()["message"].startswith("The size is not match the allowed size ['")


@pytest.mark.parametrize(
    ("model", "duration", "message"),
    [
        ("wan2.2-t2v-plus", 5, None),
        ("wan2.2-t2v-plus", 10, "Range of duration should be [5, 5]"),
        ("wan2.5-t2v-preview", 10, None),
        ("wan2.5-t2v-preview", 7, "The duration is not match the allowed duration [5, 10]"),
        ("wan2.5-t2v-preview", 15, "The duration is not match the allowed duration [5, 10]"),
        ("wan2.6-t2v", 2, None),
        ("wan2.6-t2v", 15, None),
        ("wan2.6-t2v", 1, "Range of duration should be [2, 15]"),
        ("wan2.6-t2v", 16, "Range of duration should be [2, 15]"),
        ("wan2.6-t2v", "5", "Range of duration should be [2, 15]"),
    ],
)
async def test_legacy_text_durations(emu: Emulator, model: str, duration: object, message: str | None) -> None:
    response = await submit(emu, model, {"prompt": "p"}, {"duration": duration})
    if message is None:
        assert response.status_code == 200, response.text
    else:
        assert_error(response, 400, "InvalidParameter", message)


async def test_wan26_shot_type_and_a_15_second_1080p_clip(emu: Emulator) -> None:
    body = await succeeded(
        emu, "wan2.6-t2v", {"prompt": "two shots"}, {"duration": 15, "shot_type": "multi", "prompt_extend": True}
    )
    assert body["usage"]["duration"] == 15 and body["usage"]["output_video_duration"] == 15
    started = time.perf_counter()
    assert await video_of(emu, body) == {"seconds": 15.0, "size": (1920, 1080), "frames": 450}
    assert time.perf_counter() - started < 5  # a still picture: nothing per frame
    refused = await submit(emu, "wan2.6-t2v", {"prompt": "p"}, {"shot_type": "double"})
    assert_error(
        refused, 400, "InvalidParameter", "The shot_type is not match the allowed shot_type ['single', 'multi']"
    )
    # other models take no shot_type: it is ignored, as are undocumented parameters
    ignored = {"shot_type": "double", "audio": True, "resolution": "bogus", "audio_setting": "auto"}
    assert (await submit(emu, "wan2.5-t2v-preview", {"prompt": "p"}, ignored)).status_code == 200


@pytest.mark.parametrize(
    ("model", "limit"), [("wan2.2-t2v-plus", 800), ("wan2.5-t2v-preview", 1500), ("wan2.6-t2v", 1500)]
)
async def test_legacy_text_prompt_is_required_and_truncated(emu: Emulator, model: str, limit: int) -> None:
    body = await succeeded(emu, model, {"prompt": "长" * (limit + 100), "negative_prompt": "x" * 900})
    assert body["output"]["orig_prompt"] == "长" * limit
    missing = "Required parameter(prompt) missing or invalid, please check the request parameters."
    assert_error(await submit(emu, model, {"prompt": None}), 400, "InvalidParameter", missing)
    bad_negative = await submit(emu, model, {"prompt": "p", "negative_prompt": 3})
    assert_error(bad_negative, 400, "InvalidParameter", "Parameter negative_prompt must be a string, got 3")


@pytest.mark.parametrize("model", ["wan2.5-t2v-preview", "wan2.6-t2v"])
async def test_legacy_text_audio_url(emu: Emulator, media: dict[str, str], model: str) -> None:
    assert (await submit(emu, model, {"prompt": "p", "audio_url": media["wav3"]})).status_code == 200
    assert (await submit(emu, model, {"prompt": "p", "audio_url": media["mp3"]})).status_code == 200
    too_short = await submit(emu, model, {"prompt": "p", "audio_url": media["wav2"]})
    assert_error(too_short, 400, "InvalidParameter", "The duration of audio_url must be in [3, 30] seconds, got 2.")
    too_long = await submit(emu, model, {"prompt": "p", "audio_url": media["wav31"]})
    assert_error(too_long, 400, "InvalidParameter", "The duration of audio_url must be in [3, 30] seconds, got 31.")
    not_audio = await submit(emu, model, {"prompt": "p", "audio_url": media["frame"]})
    assert_error(
        not_audio, 400, "InvalidParameter", "The format of audio_url is not supported, supported formats: wav, mp3."
    )
    huge = await submit(emu, model, {"prompt": "p", "audio_url": media["huge"]})
    assert_error(huge, 400, "InvalidParameter", "The size of audio_url exceeds the limit of 15MB.")
    inline = await submit(emu, model, {"prompt": "p", "audio_url": data_uri(wav_bytes(3, 8000), "audio/wav")})
    assert_error(inline, 400, "InvalidParameter", "url error, please check url！")


async def test_silent_models_ignore_audio_url(emu: Emulator) -> None:
    response = await submit(emu, "wan2.2-t2v-plus", {"prompt": "p", "audio_url": "http://127.0.0.1:9/none.wav"})
    assert response.status_code == 200, response.text


# --- text-to-video, wan2.7 (resolution + ratio; checked in the task) ---------------------------


@pytest.mark.parametrize(
    ("params", "size"),
    [
        ({}, (1920, 1080)),
        ({"resolution": "720P"}, (1280, 720)),
        ({"resolution": "720P", "ratio": "4:3"}, (1104, 832)),
        ({"resolution": "1080P", "ratio": "3:4"}, (1248, 1648)),
        ({"ratio": "1:1"}, (1440, 1440)),
        ({"resolution": "720P", "ratio": "9:16"}, (720, 1280)),
    ],
)
async def test_wan27_text_sizes(emu: Emulator, params: dict[str, Any], size: tuple[int, int]) -> None:
    body = await succeeded(emu, "wan2.7-t2v", {"prompt": "a city"}, {**params, "duration": 2, "size": "832*480"})
    sr = 720 if params.get("resolution") == "720P" else 1080
    assert body["usage"] == {
        "duration": 2,
        "input_video_duration": 0,
        "output_video_duration": 2,
        "video_count": 1,
        "ratio": params.get("ratio", "16:9"),
        "SR": sr,
    }
    assert "actual_prompt" not in body["output"]
    assert await video_of(emu, body) == {"seconds": 2.0, "size": size, "frames": 60}


@pytest.mark.parametrize(
    ("payload", "params", "message"),
    [
        ({}, {}, "Field required: input.prompt"),
        ({"prompt": "  "}, {}, "prompt must contain words"),
        ({"prompt": 5}, {}, "Input should be a valid string: input.prompt"),
        ({"prompt": "p"}, {"resolution": "480P"}, "Input should be '720P' or '1080P': parameters.resolution"),
        ({"prompt": "p"}, {"ratio": "21:9"}, "Input should be '16:9', '9:16', '1:1', '4:3' or '3:4': parameters.ratio"),
        ({"prompt": "p"}, {"duration": 1}, "Input should be greater than or equal to 2: parameters.duration"),
        ({"prompt": "p"}, {"duration": 16}, "Input should be less than or equal to 15: parameters.duration"),
        (
            {"prompt": "p"},
            {"duration": 5.5},
            "Input should be a valid integer, got a number with a fractional part: parameters.duration",
        ),
        (
            {"prompt": "p"},
            {"watermark": "maybe"},
            "Input should be a valid boolean, unable to interpret input: parameters.watermark",
        ),
        ({"prompt": "p"}, {"seed": -1}, "Input should be greater than or equal to 0: parameters.seed"),
    ],
)
async def test_wan27_text_refusals_fail_the_task(
    emu: Emulator, payload: dict[str, Any], params: dict[str, Any], message: str
) -> None:
    assert await failed(emu, "wan2.7-t2v", payload, params) == message


async def test_wan27_text_reads_values_leniently_and_truncates(emu: Emulator, media: dict[str, str]) -> None:
    params = {"duration": "3", "prompt_extend": "false", "watermark": 1, "seed": 7.0, "shot_type": "multi"}
    body = await succeeded(emu, "wan2.7-t2v-2026-04-25", {"prompt": "长" * 5100, "audio_url": media["wav2"]}, params)
    assert body["usage"]["duration"] == 3 and body["output"]["orig_prompt"] == "长" * 5000
    message = await failed(emu, "wan2.7-t2v", {"prompt": "p", "audio_url": media["wav1"]})
    assert message == "The duration of audio_url must be in [2, 30] seconds, got 1."
    gone = media["wav1"].replace("wav1", "gone.wav")
    assert await failed(emu, "wan2.7-t2v", {"prompt": "p", "audio_url": gone}) == f"Failed to download {gone}"


# --- image-to-video, img_url protocol ---------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "tier", "usage"),
    [
        ("wanx2.1-i2v-turbo", "720P", {"video_duration": 5, "video_ratio": "standard", "video_count": 1}),
        ("wan2.1-i2v-plus", "720P", {"video_duration": 5, "video_ratio": "standard", "video_count": 1}),
        ("wan2.2-i2v-flash", "720P", {"video_count": 1, "duration": 5, "SR": 720}),
        ("wan2.2-i2v-plus", "1080P", {"video_count": 1, "duration": 5, "SR": 1080}),
        ("wan2.5-i2v-preview", "1080P", {"video_count": 1, "duration": 5, "SR": 1080}),
        (
            "wan2.6-i2v",
            "1080P",
            {"duration": 5, "input_video_duration": 0, "output_video_duration": 5, "video_count": 1, "SR": 1080},
        ),
    ],
)
async def test_image_to_video_follows_the_first_frame(
    emu: Emulator, media: dict[str, str], model: str, tier: str, usage: dict[str, Any]
) -> None:
    body = await succeeded(emu, model, {"prompt": "it turns", "img_url": media["frame"]})
    assert body["usage"] == usage
    expected = {"720P": (816, 1104), "1080P": (1232, 1648)}[tier]  # 750*1000 at the tier's area, sides /16
    assert fit_tier(750, 1000, tier) == expected
    assert (await video_of(emu, body))["size"] == expected
    assert ("actual_prompt" in body["output"]) is (model != "wan2.6-i2v")


def test_the_documented_aspect_example() -> None:
    assert fit_tier(750, 1000, "720P") == (816, 1104)  # the image-to-video FAQ
    assert fit_tier(800, 600, "480P") == (720, 544) and fit_tier(800, 600, "1080P") == (1648, 1232)


@pytest.mark.parametrize(
    ("model", "params", "message"),
    [
        ("wanx2.1-i2v-plus", {"resolution": "480P"}, "The resolution is not match the allowed resolution ['720P']"),
        (
            "wan2.2-i2v-plus",
            {"resolution": "720P"},
            "The resolution is not match the allowed resolution ['480P', '1080P']",
        ),
        ("wan2.6-i2v", {"resolution": "480P"}, "The resolution is not match the allowed resolution ['720P', '1080P']"),
        ("wanx2.1-i2v-turbo", {"duration": 2}, "Range of duration should be [3, 5]"),
        ("wan2.2-i2v-flash", {"duration": 10}, "Range of duration should be [5, 5]"),
        ("wan2.5-i2v-preview", {"duration": 15}, "The duration is not match the allowed duration [5, 10]"),
        ("wan2.6-i2v", {"duration": 20}, "Range of duration should be [2, 15]"),
        ("wan2.6-i2v", {"shot_type": "triple"}, "The shot_type is not match the allowed shot_type ['single', 'multi']"),
        ("wan2.5-i2v-preview", {"seed": 2147483648}, "Range of seed should be [0, 2147483647]"),
        ("wan2.2-i2v-flash", {"watermark": "yes"}, "Parameter watermark must be a boolean, got 'yes'"),
    ],
)
async def test_image_to_video_parameter_edges(
    emu: Emulator, media: dict[str, str], model: str, params: dict[str, Any], message: str
) -> None:
    assert_error(await submit(emu, model, {"img_url": media["frame"]}, params), 400, "InvalidParameter", message)


@pytest.mark.parametrize(
    ("model", "params"),
    [
        ("wanx2.1-i2v-turbo", {"resolution": "480P", "duration": 3}),
        ("wan2.2-i2v-flash", {"resolution": "1080P"}),
        ("wan2.5-i2v-preview", {"resolution": "480P", "duration": 10}),
        ("wan2.6-i2v", {"resolution": "720P", "duration": 2}),
        ("wan2.6-i2v", {"duration": 15, "shot_type": "multi"}),
    ],
)
async def test_image_to_video_accepted_edges(
    emu: Emulator, media: dict[str, str], model: str, params: dict[str, Any]
) -> None:
    body = await succeeded(emu, model, {"img_url": media["wide"]}, params)
    facts = await video_of(emu, body)
    assert facts["seconds"] == params.get("duration", 5)
    assert facts["size"] == fit_tier(800, 600, params.get("resolution", "720P" if "flash" in model else "1080P"))


async def test_image_inputs(emu: Emulator, media: dict[str, str], big_png: str) -> None:
    missing = "Required parameter(img_url) missing or invalid, please check the request parameters."
    assert_error(await submit(emu, "wan2.6-i2v", {"prompt": "p"}), 400, "InvalidParameter", missing)
    small = await submit(emu, "wan2.2-i2v-flash", {"img_url": media["tiny"]})
    assert_error(
        small,
        400,
        "InvalidParameter",
        "The resolution of img_url is invalid: width and height must each be in [240, 8000] pixels, got 200*300.",
    )
    gif = await submit(emu, "wan2.5-i2v-preview", {"img_url": media["gif"]})
    assert_error(
        gif,
        400,
        "InvalidParameter",
        "The format of img_url is not supported, supported formats: JPG, JPEG, PNG, BMP, WEBP.",
    )
    gone = await submit(emu, "wan2.6-i2v", {"img_url": media["frame"] + ".gone"})
    assert_error(gone, 400, "InvalidParameter", "url error, please check url！")
    big = await submit(emu, "wan2.2-i2v-plus", {"img_url": big_png})
    assert_error(big, 400, "InvalidParameter", "The size of img_url exceeds the limit of 10MB.")
    assert (await submit(emu, "wan2.6-i2v", {"img_url": big_png})).status_code == 200  # 20 MB for wan2.5/2.6
    inline = await succeeded(emu, "wan2.2-i2v-flash", {"img_url": data_uri(png_bytes(600, 600))})
    assert (await video_of(emu, inline))["size"] == fit_tier(600, 600, "720P") == (960, 960)


async def test_image_from_an_upload_needs_the_resolve_header(emu: Emulator) -> None:
    emu.state.uploads.put(StoredFile("dashscope-instant/k/frame.png", png_bytes(640, 480), "image/png", emu.clock.now))
    payload = {"img_url": "oss://dashscope-instant/k/frame.png"}
    refused = await submit(emu, "wan2.6-i2v", payload)
    assert_error(
        refused,
        400,
        "InvalidParameter",
        "The provided URL does not appear to be valid. Ensure it is correctly formatted.",
    )
    body = await succeeded(emu, "wan2.6-i2v", payload, {"resolution": "720P"}, headers={**ASYNC, **RESOLVE})
    assert (await video_of(emu, body))["size"] == fit_tier(640, 480, "720P")


async def test_image_to_video_audio_and_template(emu: Emulator, media: dict[str, str]) -> None:
    with_audio = {"img_url": media["frame"], "audio_url": media["mp3"]}
    assert (await submit(emu, "wan2.6-i2v", with_audio)).status_code == 200
    assert (await submit(emu, "wan2.5-i2v-preview", with_audio)).status_code == 200
    short = await submit(emu, "wan2.6-i2v", {"img_url": media["frame"], "audio_url": media["wav2"]})
    assert_error(short, 400, "InvalidParameter", "The duration of audio_url must be in [3, 30] seconds, got 2.")
    # silent models do not read it
    assert (await submit(emu, "wan2.2-i2v-flash", {"img_url": media["frame"], "audio_url": "x"})).status_code == 200
    effect = await succeeded(
        emu,
        "wanx2.1-i2v-turbo",
        {"img_url": media["frame"], "template": "flying", "prompt": "ignored"},
        {"prompt_extend": False},
    )
    assert "orig_prompt" not in effect["output"] and "actual_prompt" not in effect["output"]
    no_prompt = await succeeded(emu, "wan2.2-i2v-plus", {"img_url": media["frame"], "prompt": None})
    assert "orig_prompt" not in no_prompt["output"] and "actual_prompt" in no_prompt["output"]


async def test_prompt_limits_of_image_models(emu: Emulator, media: dict[str, str]) -> None:
    for model, limit in (("wanx2.1-i2v-plus", 800), ("wan2.2-i2v-flash", 800), ("wan2.6-i2v", 1500)):
        body = await succeeded(emu, model, {"img_url": media["wide"], "prompt": "长" * 2000})
        assert body["output"]["orig_prompt"] == "长" * limit


# --- image-to-video, wan2.7 media protocol ----------------------------------------------------


def _media(urls: dict[str, str], *types: str) -> list[dict[str, str]]:
    source = {"first_frame": "frame", "last_frame": "wide", "driving_audio": "wav3", "first_clip": "clip3"}
    return [{"type": kind, "url": urls[source[kind]]} for kind in types]


@pytest.mark.parametrize(
    "types",
    [
        ("first_frame",),
        ("first_frame", "driving_audio"),
        ("first_frame", "last_frame"),
        ("first_frame", "last_frame", "driving_audio"),
        ("first_clip",),
        ("first_clip", "last_frame"),
        ("last_frame", "first_frame"),
    ],
)
async def test_wan27_image_combinations(emu: Emulator, media: dict[str, str], types: tuple[str, ...]) -> None:
    body = await succeeded(emu, "wan2.7-i2v", {"prompt": "go", "media": _media(media, *types)}, {"duration": 8})
    clip = "first_clip" in types
    assert body["usage"] == {
        "duration": 8,
        "input_video_duration": 3 if clip else 0,
        "output_video_duration": 5 if clip else 8,
        "video_count": 1,
        "SR": 1080,
    }
    facts = await video_of(emu, body)
    assert facts["size"] == (fit_tier(320, 240, "1080P") if clip else fit_tier(750, 1000, "1080P"))
    assert facts["seconds"] == 8.0


@pytest.mark.parametrize(
    ("types", "message"),
    [
        (("last_frame",), "unsupported media combination [last_frame]"),
        (("driving_audio",), "unsupported media combination [driving_audio]"),
        (("first_frame", "first_clip"), "unsupported media combination [first_frame, first_clip]"),
        (("first_clip", "driving_audio"), "unsupported media combination [first_clip, driving_audio]"),
        ((), "unsupported media combination []"),
        (("first_frame", "first_frame"), "each media type may appear at most once, got 2 first_frame"),
    ],
)
async def test_wan27_image_refuses_other_combinations(
    emu: Emulator, media: dict[str, str], types: tuple[str, ...], message: str
) -> None:
    assert (await failed(emu, "wan2.7-i2v", {"media": _media(media, *types)})).startswith(f"Value error, {message}")


@pytest.mark.parametrize(
    ("payload", "message"),
    [
        ({"img_url": "FRAME"}, "Field required: input.media"),
        ({"media": "FRAME"}, "Input should be a valid list: input.media"),
        ({"media": [{"url": "FRAME"}]}, "Field required: input.media.0.type"),
        ({"media": [{"type": "first_frame"}]}, "Field required: input.media.0.url"),
        (
            {"media": [{"type": "reference_image", "url": "FRAME"}]},
            "Input should be 'first_frame', 'last_frame', 'driving_audio' or 'first_clip': input.media.0.type",
        ),
        (
            {"media": [{"type": "first_frame", "url": "TINY"}]},
            "The resolution of first_frame is invalid: width and "
            "height must each be in [240, 8000] pixels, got 200*300.",
        ),
        (
            {"media": [{"type": "first_frame", "url": "SLIM"}]},
            "The aspect ratio of first_frame is invalid: it must be between 1:8 and 8:1, got 240*2400.",
        ),
        (
            {"media": [{"type": "first_clip", "url": "CLIP12"}]},
            "The duration of first_clip must be in [2, 10] seconds, got 12.",
        ),
        (
            {"media": [{"type": "first_clip", "url": "FRAME"}]},
            "The format of first_clip is not supported, supported formats: mp4, mov.",
        ),
        (
            {"media": [{"type": "first_frame", "url": "FRAME"}, {"type": "driving_audio", "url": "WAV1"}]},
            "The duration of driving_audio must be in [2, 30] seconds, got 1.",
        ),
    ],
)
async def test_wan27_image_refusals_fail_the_task(
    emu: Emulator, media: dict[str, str], payload: dict[str, Any], message: str
) -> None:
    assert await failed(emu, "wan2.7-i2v-2026-04-25", fill(media, payload)) == message


async def test_wan27_image_edges(emu: Emulator, media: dict[str, str]) -> None:
    frame = _media(media, "first_frame")
    for params, message in (
        ({"resolution": "480P"}, "Input should be '720P' or '1080P': parameters.resolution"),
        ({"duration": 16}, "Input should be less than or equal to 15: parameters.duration"),
        (
            {"prompt_extend": "sometimes"},
            "Input should be a valid boolean, unable to interpret input: parameters.prompt_extend",
        ),
    ):
        assert await failed(emu, "wan2.7-i2v", {"media": frame}, params) == message
    body = await succeeded(emu, "wan2.7-i2v", {"media": frame}, {"resolution": "720P", "duration": 15})
    assert (await video_of(emu, body)) == {"seconds": 15.0, "size": (816, 1104), "frames": 450}
    assert "orig_prompt" not in body["output"]
    portrait = await succeeded(
        emu,
        "wan2.7-i2v",
        {"media": [{"type": "first_clip", "url": media["portrait_clip"]}]},
        {"resolution": "720P", "duration": 2},
    )
    assert (await video_of(emu, portrait))["size"] == fit_tier(480, 640, "720P")
    assert portrait["usage"]["input_video_duration"] == 2  # the clip (3 s) is longer than the total asked
    gone = media["frame"] + ".gone"
    assert await failed(emu, "wan2.7-i2v", {"media": [{"type": "first_frame", "url": gone}]}) == (
        f"Failed to download {gone}"
    )


async def test_wan27_inspect_trigger_is_still_refused_at_submission(emu: Emulator, media: dict[str, str]) -> None:
    response = await submit(emu, "wan2.7-i2v", {"prompt": "[emulator:inspect]", "media": _media(media, "first_frame")})
    assert_error(response, 400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    output = (await finished(emu, "wan2.7-i2v", {"prompt": "[emulator:fail]", "media": _media(media, "first_frame")}))[
        "output"
    ]
    assert (output["task_status"], output["code"]) == ("FAILED", "InternalError.Algo")


# --- keyframe-to-video --------------------------------------------------------------------------


async def test_keyframes_on_their_own_endpoint(emu: Emulator, media: dict[str, str]) -> None:
    frames = {"first_frame_url": media["frame"], "last_frame_url": media["wide"], "prompt": "a turn"}
    body = await succeeded(emu, "wan2.2-kf2v-flash", frames, {"resolution": "480P"}, path=KF2V)
    assert body["usage"] == {"video_duration": 5, "video_count": 1, "SR": 480}
    assert "actual_prompt" in body["output"]
    assert await video_of(emu, body) == {"seconds": 5.0, "size": fit_tier(750, 1000, "480P"), "frames": 150}
    default = await succeeded(emu, "wanx2.1-kf2v-plus", {"first_frame_url": media["wide"], "prompt": None}, path=KF2V)
    assert default["usage"] == {"video_duration": 5, "video_ratio": "standard", "video_count": 1}
    assert (await video_of(emu, default))["size"] == fit_tier(800, 600, "720P")
    assert (await submit(emu, "wan2.1-kf2v-plus", frames, path=KF2V)).status_code == 200


@pytest.mark.parametrize(
    ("model", "payload", "params", "message"),
    [
        (
            "wan2.2-kf2v-flash",
            {"last_frame_url": "WIDE"},
            {},
            "Required parameter(first_frame_url) missing or invalid, please check the request parameters.",
        ),
        (
            "wanx2.1-kf2v-plus",
            {"first_frame_url": "FRAME"},
            {"resolution": "1080P"},
            "The resolution is not match the allowed resolution ['720P']",
        ),
        ("wan2.2-kf2v-flash", {"first_frame_url": "FRAME"}, {"duration": 10}, "Range of duration should be [5, 5]"),
        (
            "wan2.2-kf2v-flash",
            {"first_frame_url": "FRAME", "last_frame_url": "TINY"},
            {},
            "The resolution of last_frame_url is invalid: width and height must each be in [240, 8000] pixels, "
            "got 200*300.",
        ),
    ],
)
async def test_keyframe_refusals(
    emu: Emulator, media: dict[str, str], model: str, payload: dict[str, Any], params: dict[str, Any], message: str
) -> None:
    assert_error(await submit(emu, model, fill(media, payload), params, path=KF2V), 400, "InvalidParameter", message)


async def test_each_endpoint_knows_only_its_models(emu: Emulator, media: dict[str, str]) -> None:
    frames = {"first_frame_url": media["frame"]}
    assert_error(await submit(emu, "wan2.2-kf2v-flash", frames), 400, "InvalidParameter", "Model not exist.")
    assert_error(
        await submit(emu, "wan2.6-t2v", {"prompt": "p"}, path=KF2V), 400, "InvalidParameter", "Model not exist."
    )
    sync = await emu.http.post(KF2V, headers=AUTH, json={"model": "wan2.2-kf2v-flash", "input": frames})
    assert_error(sync, 403, "AccessDenied", "current user api does not support synchronous calls.")


# --- reference-to-video -------------------------------------------------------------------------


async def test_wan26_references(emu: Emulator, media: dict[str, str]) -> None:
    refs = [media["frame"], media["wide"], media["clip3"]]
    body = await succeeded(
        emu,
        "wan2.6-r2v",
        {"prompt": "character1 waves at character2", "reference_urls": refs},
        {"size": "1280*720", "duration": 10, "shot_type": "multi", "audio": True},
    )
    assert body["usage"] == {
        "duration": 13.0,
        "size": "1280*720",
        "input_video_duration": 3,
        "output_video_duration": 10,
        "video_count": 1,
        "SR": 720,
    }
    assert "actual_prompt" not in body["output"]
    assert await video_of(emu, body) == {"seconds": 10.0, "size": (1280, 720), "frames": 300}
    assert isinstance(body["usage"]["duration"], float)  # 10.0 in the wan2.6-r2v reference
    capped = await succeeded(emu, "wan2.6-r2v", {"prompt": "p", "reference_urls": [media["clip10"]]})
    assert (
        capped["usage"]["input_video_duration"] == 5 and capped["usage"]["duration"] == 10.0
    )  # input billed up to 5 s
    legacy = await succeeded(emu, "wan2.6-r2v", {"prompt": "p", "reference_video_urls": [media["clip3"]]})
    assert legacy["usage"]["size"] == "1920*1080"


@pytest.mark.parametrize(
    ("payload", "params", "message"),
    [
        (
            {"reference_urls": None},
            {},
            "Required parameter(reference_urls) missing or invalid, please check the request parameters.",
        ),
        ({"reference_urls": []}, {}, "Parameter reference_urls must be a non-empty list of URLs."),
        ({"reference_urls": ["WIDE"] * 6}, {}, "The number of reference_urls must be in [1, 5], got 6."),
        ({"reference_urls": ["CLIP3"] * 4}, {}, "The number of videos in reference_urls must be at most 3, got 4."),
        ({"reference_video_urls": ["CLIP3"] * 4}, {}, "The number of reference_video_urls must be in [1, 3], got 4."),
        ({"reference_urls": ["WIDE"]}, {"duration": 11}, "Range of duration should be [2, 10]"),
        ({"reference_urls": ["WIDE"]}, {"size": "832*480"}, None),
        ({"reference_urls": ["CLIP31"]}, {}, "The duration of reference_urls must be in [1, 30] seconds, got 31."),
        (
            {"reference_urls": ["TALL"]},
            {},
            "The resolution of reference_urls is invalid: width and height must each be in [240, 5000] pixels, "
            "got 240*5008.",
        ),
        (
            {"reference_video_urls": ["WIDE"]},
            {},
            "The format of reference_video_urls is not supported, supported formats: mp4, mov.",
        ),
        (
            {"reference_urls": ["WIDE"], "prompt": None},
            {},
            "Required parameter(prompt) missing or invalid, please check the request parameters.",
        ),
    ],
)
async def test_wan26_reference_refusals(
    emu: Emulator, media: dict[str, str], payload: dict[str, Any], params: dict[str, Any], message: str | None
) -> None:
    filled = fill(media, {"prompt": "character1", **payload})
    response = await submit(emu, "wan2.6-r2v", filled, params)
    if message is None:
        assert_error(response, 400, "InvalidParameter")
        assert response.json()["message"].startswith("The size is not match the allowed size ['1280*720'")
    else:
        assert_error(response, 400, "InvalidParameter", message)


async def test_wan27_references(emu: Emulator, media: dict[str, str]) -> None:
    items = [
        {
            "type": "reference_image",
            "url": media["frame"],
            "reference_voice": media["wav3"],
            "reference_description": "a girl",
        },
        {"type": "reference_video", "url": media["clip3"], "reference_voice": media["mp3"]},
    ]
    params = {"resolution": "720P", "ratio": "9:16", "duration": 10, "prompt_extend": False, "watermark": True}
    body = await succeeded(emu, "wan2.7-r2v", {"prompt": "图1 hugs 视频1", "media": items}, params)
    assert body["usage"] == {
        "duration": 13.0,
        "input_video_duration": 3,
        "output_video_duration": 10,
        "video_count": 1,
        "ratio": "9:16",
        "SR": 720,
    }
    assert await video_of(emu, body) == {"seconds": 10.0, "size": (720, 1280), "frames": 300}
    assert isinstance(body["usage"]["duration"], int)  # whole seconds, as in the wan2.7 reference
    framed = [{"type": "first_frame", "url": media["wide"]}, {"type": "reference_image", "url": media["frame"]}]
    first = await succeeded(emu, "wan2.7-r2v", {"prompt": "p", "media": framed}, {"ratio": "9:16", "duration": 15})
    assert (await video_of(emu, first))["size"] == fit_tier(800, 600, "1080P")  # the first frame sets the aspect
    assert first["usage"]["ratio"] == "4:3" and first["usage"]["duration"] == 15.0


@pytest.mark.parametrize(
    ("items", "params", "message"),
    [
        (
            [("reference_video", "CLIP3")],
            {"duration": 12},
            "Input should be less than or equal to 10 when a reference_video is given: parameters.duration",
        ),
        (
            [("reference_image", "WIDE")] * 6,
            {},
            "Value error, media must hold 1 to 5 reference_image and reference_video items, got 6",
        ),
        (
            [("first_frame", "WIDE")],
            {},
            "Value error, media must hold 1 to 5 reference_image and reference_video items, got 0",
        ),
        (
            [("first_frame", "WIDE"), ("first_frame", "WIDE"), ("reference_image", "WIDE")],
            {},
            "Value error, media may hold at most one first_frame, got 2",
        ),
        (
            [("driving_audio", "WAV3")],
            {},
            "Input should be 'reference_image', 'reference_video' or 'first_frame': input.media.0.type",
        ),
        ([("reference_video", "CLIP31")], {}, "The duration of reference_video must be in [1, 30] seconds, got 31."),
        (
            [("reference_image", "WAV3")],
            {},
            "The format of reference_image is not supported, supported formats: JPG, JPEG, PNG, BMP, WEBP.",
        ),
    ],
)
async def test_wan27_reference_refusals_fail_the_task(
    emu: Emulator, media: dict[str, str], items: list[tuple[str, str]], params: dict[str, Any], message: str
) -> None:
    payload = {"prompt": "p", "media": [{"type": kind, "url": media[name.lower()]} for kind, name in items]}
    assert await failed(emu, "wan2.7-r2v", payload, params) == message


async def test_wan27_reference_voice_and_prompt(emu: Emulator, media: dict[str, str]) -> None:
    voiced = [{"type": "reference_image", "url": media["wide"], "reference_voice": media["wav11"]}]
    assert await failed(emu, "wan2.7-r2v", {"prompt": "p", "media": voiced}) == (
        "The duration of reference_voice must be in [1, 10] seconds, got 11."
    )
    assert await failed(emu, "wan2.7-r2v", {"prompt": None, "media": voiced}) == "Field required: input.prompt"
    assert await failed(emu, "wan2.7-r2v", {"prompt": "p"}) == "Field required: input.media"
    twelve = await succeeded(
        emu,
        "wan2.7-r2v",
        {"prompt": "p", "media": [{"type": "reference_image", "url": media["wide"]}]},
        {"duration": 12},
    )
    assert twelve["usage"]["output_video_duration"] == 12 and twelve["usage"]["input_video_duration"] == 0


# --- input probing ------------------------------------------------------------------------------


def test_probe_reads_mp4_and_rejects_other_files() -> None:
    info = probe_video(clip_bytes(480, 640, 4))
    assert info is not None and (info.format, info.width, info.height, info.seconds) == ("mp4", 480, 640, 4.0)
    assert not info.has_sound
    assert probe_video(png_bytes(10, 10)) is None and probe_video(b"") is None and probe_video(wav_bytes(1)) is None
    mov = clip_bytes()
    mov = mov[:8] + b"qt  " + mov[12:]  # the QuickTime brand
    assert probe_video(mov) is not None and probe_video(mov).format == "mov"  # type: ignore[union-attr]


async def test_fail_trigger_for_every_kind(emu: Emulator, media: dict[str, str]) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("wan2.6-t2v", {}, T2V),
        ("wan2.6-i2v", {"img_url": media["frame"]}, T2V),
        ("wan2.2-kf2v-flash", {"first_frame_url": media["frame"]}, KF2V),
        ("wan2.6-r2v", {"reference_urls": [media["frame"]]}, T2V),
        ("wan2.7-r2v", {"media": [{"type": "reference_image", "url": media["frame"]}]}, T2V),
    ]
    for model, payload, path in cases:
        output = (await finished(emu, model, {"prompt": "x [emulator:fail]", **payload}, path=path))["output"]
        assert (output["task_status"], output["code"]) == ("FAILED", "InternalError.Algo"), model
        inspected = await submit(emu, model, {"prompt": "[emulator:inspect]", **payload}, path=path)
        assert_error(inspected, 400, "DataInspectionFailed")


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("ffprobe") is None, reason="ffprobe is not installed")
@pytest.mark.parametrize(("size", "seconds"), [((1920, 1080), 3), ((816, 1104), 2), ((1080, 1920), 2)])
def test_ffprobe_decodes_cropped_and_large_clips(tmp_path: Path, size: tuple[int, int], seconds: int) -> None:
    video = tmp_path / "clip.mp4"
    video.write_bytes(render(Scene("ffprobe", 3), *size, seconds))
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-count_frames", "-show_streams", "-show_format", "-of", "json", str(video)],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    facts = json.loads(probe.stdout)
    (stream,) = facts["streams"]
    assert (stream["codec_name"], stream["width"], stream["height"]) == ("h264", *size)
    assert stream["nb_read_frames"] == str(30 * seconds) and stream["r_frame_rate"] == "30/1"
    assert stream["level"] == (40 if size[0] * size[1] > 1280 * 720 else 31)
    assert float(facts["format"]["duration"]) == seconds
