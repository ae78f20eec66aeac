"""Text-to-video: the request `build` sends (§7 of the protocol notes), the brief's values it refuses, and `parse`."""

from __future__ import annotations

from typing import Any

import pytest

from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.text_to_video import PATH, PROMPT_MAX, TEXT_TO_VIDEO, TextToVideoParams, build
from bailian_mcp.capabilities.videos import parse_video as parse
from bailian_mcp.catalog import VIDEO_480P, VIDEO_720P, VideoModel, resolve
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.errors import InputError

BEIJING = BuildContext(region="cn-beijing")
SINGAPORE = BuildContext(region="ap-southeast-1")


def body_for(context: BuildContext = BEIJING, **params: Any) -> dict[str, Any]:
    return build(TextToVideoParams(**params), context).body


def rejection(context: BuildContext = BEIJING, **params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        build(TextToVideoParams(**params), context)
    return caught.value


def video_model(name: str) -> VideoModel:
    model = resolve("text_to_video", name)
    assert isinstance(model, VideoModel)
    return model


TURBO = video_model("wan2.1-t2v-turbo")
PLUS = video_model("wan2.1-t2v-plus")


# ---------------------------------------------------------------------- the request body


def test_build_sends_the_documented_body_with_size_from_resolution() -> None:
    request = build(
        TextToVideoParams(prompt="一只小猫在月光下奔跑", negative_prompt="低分辨率", resolution="1280*720", seed=12345),
        BEIJING,
    )
    assert request.path == PATH == "services/aigc/video-generation/video-synthesis"
    assert request.model is TURBO
    assert request.warnings == ()
    assert request.body == {
        "model": "wanx2.1-t2v-turbo",
        "input": {"prompt": "一只小猫在月光下奔跑", "negative_prompt": "低分辨率"},
        "parameters": {"size": "1280*720", "duration": 5, "prompt_extend": True, "watermark": False, "seed": 12345},
    }


def test_build_with_only_a_prompt_uses_the_briefs_default_720_by_1280() -> None:
    assert body_for(prompt="sunrise time-lapse") == {
        "model": "wanx2.1-t2v-turbo",
        "input": {"prompt": "sunrise time-lapse"},
        "parameters": {"size": "720*1280", "duration": 5, "prompt_extend": True, "watermark": False},
    }


@pytest.mark.parametrize(
    ("model", "context", "wire"),
    [
        ("wan2.1-t2v-turbo", BEIJING, "wanx2.1-t2v-turbo"),
        ("wan2.1-t2v-turbo", SINGAPORE, "wan2.1-t2v-turbo"),
        ("wan2.1-t2v-plus", BEIJING, "wanx2.1-t2v-plus"),
        ("wan2.1-t2v-plus", SINGAPORE, "wan2.1-t2v-plus"),
        ("wanx2.1-t2v-turbo", SINGAPORE, "wan2.1-t2v-turbo"),
        ("wanx2.1-t2v-plus", BEIJING, "wanx2.1-t2v-plus"),
    ],
)
def test_the_wire_model_name_follows_the_region(model: str, context: BuildContext, wire: str) -> None:
    assert body_for(context, prompt="p", model=model, resolution="1280*720")["model"] == wire


@pytest.mark.parametrize(
    ("given", "sent"), [("1280x720", "1280*720"), (" 960 × 960 ", "960*960"), ("832X1088", "832*1088")]
)
def test_other_spellings_of_w_by_h_are_sent_as_w_star_h(given: str, sent: str) -> None:
    assert body_for(prompt="p", model="wan2.1-t2v-plus", resolution=given)["parameters"]["size"] == sent


def test_prompt_extend_false_watermark_and_seed_zero_are_sent() -> None:
    parameters = body_for(prompt="p", prompt_extend=False, watermark=True, seed=0)["parameters"]
    assert parameters == {"size": "720*1280", "duration": 5, "prompt_extend": False, "watermark": True, "seed": 0}


def test_the_prompt_is_stripped_and_a_blank_negative_prompt_left_out() -> None:
    assert body_for(prompt="  a cat  ", negative_prompt="   ")["input"] == {"prompt": "a cat"}


def test_the_catalog_sizes_are_the_documented_ones() -> None:
    assert VIDEO_480P == ("832*480", "480*832", "624*624")
    assert VIDEO_720P == ("1280*720", "720*1280", "960*960", "1088*832", "832*1088")
    assert set(TURBO.sizes) == set(VIDEO_480P + VIDEO_720P)
    assert set(PLUS.sizes) == set(VIDEO_720P)
    assert TURBO.durations == PLUS.durations == (5,)


# ---------------------------------------------------------------------- resolution


@pytest.mark.parametrize(
    ("resolution", "nearest"), [("480*854", "720*1280"), ("960*544", "1280*720"), ("1024*576", "1280*720")]
)
def test_the_briefs_invalid_resolutions_are_refused_on_plus_naming_the_nearest_size(
    resolution: str, nearest: str
) -> None:
    error = rejection(prompt="p", model="wan2.1-t2v-plus", resolution=resolution)
    assert error.param == "resolution" and error.value == resolution
    assert f"the nearest is {nearest}" in str(error)
    assert "wan2.1-t2v-plus makes only 1280*720, 720*1280, 960*960, 1088*832, 832*1088" in str(error)


@pytest.mark.parametrize(
    ("resolution", "orientation"), [("480*854", "portrait"), ("960*544", "landscape"), ("1024*576", "landscape")]
)
def test_the_briefs_invalid_resolutions_are_refused_on_turbo_naming_a_valid_size_of_the_same_shape(
    resolution: str, orientation: str
) -> None:
    error = rejection(prompt="p", resolution=resolution)
    assert error.param == "resolution"
    hint = str(error).split("the nearest is ")[1].split(".")[0]
    assert hint in TURBO.sizes
    width, height = (int(side) for side in hint.split("*"))
    assert (width < height) == (orientation == "portrait")


def test_on_turbo_the_nearest_size_to_480_by_854_is_its_480p_twin_480_by_832() -> None:
    # 480*832 differs by 22 px in height (2.6 % of the pixels); 720*1280 has 2.25 times the pixels.
    assert "the nearest is 480*832" in str(rejection(prompt="p", resolution="480*854"))


@pytest.mark.parametrize("resolution", VIDEO_480P)
def test_480p_sizes_are_refused_for_plus(resolution: str) -> None:
    error = rejection(prompt="p", model="wan2.1-t2v-plus", resolution=resolution)
    assert error.param == "resolution"
    assert "wan2.1-t2v-plus makes only" in str(error)


@pytest.mark.parametrize("resolution", VIDEO_480P + VIDEO_720P)
def test_every_documented_size_is_accepted_for_turbo(resolution: str) -> None:
    assert body_for(prompt="p", model="wan2.1-t2v-turbo", resolution=resolution)["parameters"]["size"] == resolution


@pytest.mark.parametrize("resolution", ["big", "1280*", "720"])
def test_a_resolution_that_is_neither_w_by_h_nor_a_tier_is_refused(resolution: str) -> None:
    error = rejection(prompt="p", resolution=resolution)
    assert error.param == "resolution" and "W*H" in str(error)


@pytest.mark.parametrize(("resolution", "ratio", "size"), [("720P", None, "1280*720"), ("480p", "9:16", "480*832")])
def test_a_tier_and_ratio_are_the_size_they_name(resolution: str, ratio: str | None, size: str) -> None:
    parameters = body_for(prompt="p", model="wan2.1-t2v-turbo", resolution=resolution, ratio=ratio)["parameters"]
    assert parameters["size"] == size


def test_a_blank_resolution_is_the_models_default() -> None:
    assert body_for(prompt="p", resolution="")["parameters"]["size"] == "720*1280"


def test_a_tier_the_model_lacks_is_refused_with_its_sizes() -> None:
    error = rejection(prompt="p", model="wan2.1-t2v-plus", resolution="480P")
    assert error.param == "resolution" and "1280*720" in str(error)


# ---------------------------------------------------------------------- duration, fps, prompt


def test_duration_10_from_the_briefs_example_is_refused_clearly() -> None:
    params = parse_params(
        TextToVideoParams, {"model": "wan2.1-t2v-plus", "prompt": "sunrise time-lapse", "duration": 10}
    )
    with pytest.raises(InputError) as caught:
        build(params, BEIJING)
    assert caught.value.param == "duration" and caught.value.value == 10
    assert "wan2.1-t2v-plus makes 5-second clips only" in str(caught.value)
    assert "Nothing was sent" in str(caught.value)


def test_the_briefs_fps_parameter_is_refused_as_unknown() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(TextToVideoParams, {"prompt": "p", "fps": 24})
    assert caught.value.param == "fps" and "there is no such parameter" in str(caught.value)


def test_a_900_character_prompt_is_accepted_with_a_warning_that_800_are_read() -> None:
    prompt = "日" * 900
    request = build(parse_params(TextToVideoParams, {"prompt": prompt}), BEIJING)
    assert request.body["input"]["prompt"] == prompt
    assert len(request.warnings) == 1
    assert "900 characters" in request.warnings[0] and "first 800" in request.warnings[0]


def test_an_800_character_prompt_has_no_warning() -> None:
    assert build(TextToVideoParams(prompt="日" * 800), BEIJING).warnings == ()


def test_a_prompt_longer_than_any_model_reads_is_refused_by_the_params_model() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(TextToVideoParams, {"prompt": "日" * (PROMPT_MAX + 1)})
    assert caught.value.param == "prompt"


def test_a_blank_prompt_is_refused() -> None:
    assert rejection(prompt="   ").param == "prompt"


def test_a_model_of_another_capability_is_refused_with_the_video_models() -> None:
    error = rejection(prompt="p", model="wan2.2-t2i-flash")
    assert error.param == "model" and "wan2.1-t2v-turbo, wan2.1-t2v-plus" in str(error)


# ---------------------------------------------------------------------- parse (the real capture of §7)

CAPTURE_URL = (
    "https://dashscope-result-wlcb-acdr-1.oss-cn-wulanchabu-acdr-1.aliyuncs.com/1d/fa447355.mp4"
    "?Expires=1755592163&OSSAccessKeyId=LTAI&Signature=c2ln"
)
CAPTURE: dict[str, Any] = {
    "request_id": "995978ff-0000-0000-0000-000000000000",
    "output": {
        "task_id": "fa447355-0000-0000-0000-000000000000",
        "task_status": "SUCCEEDED",
        "submit_time": "2025-08-18 16:27:32.244",
        "scheduled_time": "2025-08-18 16:27:32.275",
        "end_time": "2025-08-18 16:29:23.053",
        "video_url": CAPTURE_URL,
        "orig_prompt": "可爱小猫跳舞",
        "actual_prompt": "日系治愈系插画风格，一只可爱的小猫在跳舞。",
    },
    "usage": {"video_duration": 5, "video_ratio": "1280*720", "video_count": 1},
}


def test_parse_reads_the_video_url_prompts_and_duration_of_the_capture() -> None:
    snapshot = TaskSnapshot.from_body("fa447355-0000-0000-0000-000000000000", CAPTURE)
    outputs = TEXT_TO_VIDEO.parse(snapshot)
    assert len(outputs) == 1
    video = outputs[0]
    assert video.index == 0 and video.kind == "video"
    assert video.url == CAPTURE_URL
    assert video.orig_prompt == "可爱小猫跳舞"
    assert video.actual_prompt == "日系治愈系插画风格，一只可爱的小猫在跳舞。"
    assert video.duration_seconds == 5.0
    assert video.url_expires_at == "2025-08-19T08:29:23Z"
    assert TEXT_TO_VIDEO.file_suffix == ".mp4"


@pytest.mark.parametrize(("model", "price"), [(TURBO, 0.24), (PLUS, 0.70)])
def test_the_cost_is_five_seconds_times_the_price_per_second(model: VideoModel, price: float) -> None:
    cost = model.price.cost(TaskSnapshot.from_body("t", CAPTURE).usage)
    assert cost is not None
    assert cost.amount == pytest.approx(5 * price) and cost.currency == "CNY"
    assert cost.basis.startswith("5 seconds ×")


def test_parse_without_a_video_url_has_no_outputs() -> None:
    snapshot = TaskSnapshot.from_body("t", {"output": {"task_id": "t", "task_status": "SUCCEEDED"}})
    assert parse(snapshot) == []


def test_parse_without_usage_leaves_the_duration_unknown_and_uses_end_time_for_expiry() -> None:
    body = {
        "output": {
            "task_id": "t",
            "task_status": "SUCCEEDED",
            "end_time": "2025-08-18 16:29:23.053",
            "video_url": "https://example.com/v.mp4",
        }
    }
    (video,) = parse(TaskSnapshot.from_body("t", body))
    assert video.duration_seconds is None
    assert video.url_expires_at == "2025-08-19T08:29:23.053000Z"
