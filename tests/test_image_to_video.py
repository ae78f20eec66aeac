"""image_to_video: each model spoken in its own protocol, and every combination a model cannot take refused before
anything is sent, naming the models that take it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.image_to_video import IMAGE_TO_VIDEO, KEYFRAME_MODELS, ImageToVideoParams, build
from bailian_mcp.catalog import KEYFRAME_VIDEO_SYNTHESIS, VIDEO_SYNTHESIS, VideoModel
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile
from tests.support.media import data_uri, png_bytes, write_png, write_wav

BEIJING = BuildContext(region="cn-beijing")
FRAME = "https://example.com/first.png"
LAST = "https://example.com/last.png"
AUDIO = "https://example.com/voice.mp3"


def request_for(context: BuildContext = BEIJING, **params: Any) -> Any:
    return build(parse_params(ImageToVideoParams, {"image": FRAME, **params}), context)


def rejection(context: BuildContext = BEIJING, **params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        request_for(context, **params)
    return caught.value


def test_the_default_is_a_fast_cheap_model_sent_as_img_url_with_its_default_resolution() -> None:
    request = request_for(prompt="the sun rises")
    assert request.model.name == "wan2.2-i2v-flash" and request.path == VIDEO_SYNTHESIS.path
    assert request.exchange is None  # a DashScope task
    assert request.body == {
        "model": "wan2.2-i2v-flash",
        "input": {"prompt": "the sun rises", "img_url": FRAME},
        "parameters": {"resolution": "720P", "duration": 5, "prompt_extend": True, "watermark": False},
    }


def test_the_prompt_is_optional() -> None:
    assert "prompt" not in request_for().body["input"]


def test_wanx21_is_sent_as_the_international_name_outside_beijing() -> None:
    singapore = BuildContext(region="ap-southeast-1")
    assert request_for(singapore, model="wanx2.1-i2v-turbo").body["model"] == "wan2.1-i2v-turbo"
    assert request_for(model="wan2.1-i2v-turbo").body["model"] == "wanx2.1-i2v-turbo"


def test_wan27_speaks_media_items_first_last_frame_and_driving_audio() -> None:
    body = request_for(model="wan2.7-i2v", last_frame=LAST, audio=AUDIO, duration=12).body
    assert body["input"]["media"] == [
        {"type": "first_frame", "url": FRAME},
        {"type": "last_frame", "url": LAST},
        {"type": "driving_audio", "url": AUDIO},
    ]
    assert "img_url" not in body["input"] and body["parameters"]["duration"] == 12
    assert body["parameters"]["resolution"] == "1080P"


@pytest.mark.parametrize("model", ["wanx2.1-kf2v-plus", "wan2.2-kf2v-flash"])
def test_keyframe_models_send_first_and_last_frame_urls_to_the_image2video_endpoint(model: str) -> None:
    request = request_for(model=model, last_frame=LAST, prompt="dusk")
    assert request.path == KEYFRAME_VIDEO_SYNTHESIS.path
    assert request.body["input"] == {"prompt": "dusk", "first_frame_url": FRAME, "last_frame_url": LAST}


def test_a_last_frame_on_a_model_without_keyframes_is_refused_naming_the_keyframe_models() -> None:
    error = rejection(model="wan2.6-i2v", last_frame=LAST)
    assert error.param == "last_frame" and KEYFRAME_MODELS in str(error)
    assert "wan2.2-kf2v-flash" in KEYFRAME_MODELS and "wan2.7-i2v" in KEYFRAME_MODELS


def test_wan27_without_an_image_is_refused_by_the_parameters() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(ImageToVideoParams, {"model": "wan2.7-i2v", "prompt": "x"})
    assert caught.value.param == "image" and "Nothing was sent" in str(caught.value)


def test_a_duration_the_model_lacks_is_refused_naming_its_lengths_and_the_models_that_make_it() -> None:
    error = rejection(model="wan2.2-i2v-flash", duration=10)
    assert error.param == "duration" and "makes 5-second clips only" in str(error)
    assert "wan2.5-i2v-preview" in str(error) and "wan2.6-i2v" in str(error)


def test_a_range_of_durations_is_said_as_a_range() -> None:
    assert "2-15-second clips only" in str(rejection(model="wan2.6-i2v", duration=16))


def test_a_resolution_the_model_lacks_is_refused_with_its_tiers() -> None:
    error = rejection(model="wan2.2-i2v-plus", resolution="720P")
    assert error.param == "resolution" and "480P, 1080P" in str(error)


def test_a_w_by_h_resolution_is_refused_since_the_frame_follows_the_image() -> None:
    error = rejection(resolution="1280*720")
    assert error.param == "resolution" and "tier" in str(error)


def test_driving_audio_only_where_the_model_takes_it() -> None:
    assert request_for(model="wan2.6-i2v", audio=AUDIO).body["input"]["audio_url"] == AUDIO
    error = rejection(model="wan2.2-i2v-flash", audio=AUDIO)
    assert error.param == "audio" and "wan2.6-i2v" in str(error)


def test_multi_shot_needs_a_model_that_takes_it_and_prompt_extend() -> None:
    assert request_for(model="wan2.6-i2v", multi_shot=True).body["parameters"]["shot_type"] == "multi"
    assert rejection(model="wan2.2-i2v-flash", multi_shot=True).param == "multi_shot"
    assert "prompt_extend" in str(rejection(model="wan2.6-i2v", multi_shot=True, prompt_extend=False))


def test_local_frames_and_audio_become_files_to_upload(tmp_path: Path) -> None:
    frame = write_png(tmp_path / "frame.png", (640, 480))
    audio = write_wav(tmp_path / "voice.wav", 1.0)
    context = BuildContext(region="cn-beijing", input_roots=[tmp_path])
    params = parse_params(ImageToVideoParams, {"image": str(frame), "model": "wan2.7-i2v", "audio": str(audio)})
    media = build(params, context).body["input"]["media"]
    assert [item["type"] for item in media] == ["first_frame", "driving_audio"]
    assert all(isinstance(item["url"], LocalFile) for item in media)


def test_a_data_uri_frame_is_checked_and_sent_as_it_is() -> None:
    uri = data_uri(png_bytes(320, 240))
    assert request_for(image=uri).body["input"]["img_url"] == uri
    assert rejection(image=data_uri(png_bytes(100, 100))).param == "image"  # under 240 pixels a side


def test_a_model_offered_elsewhere_is_refused_naming_its_regions() -> None:
    error = rejection(BuildContext(region="us-east-1"), model="wan2.2-kf2v-flash", last_frame=LAST)
    assert error.param == "model" and "cn-beijing" in str(error)


def test_every_model_builds_with_its_defaults() -> None:
    for model in catalog.models_for("image_to_video"):
        assert isinstance(model, VideoModel)
        extra = {"last_frame": LAST} if model.inputs == "frames" else {}
        request = request_for(model=model.name, **extra)
        assert request.model is model and request.path == model.endpoint.path


def test_a_finished_task_is_read_as_its_clip_with_its_length() -> None:
    snapshot = TaskSnapshot.from_body(
        "t",
        {
            "output": {"task_status": "SUCCEEDED", "video_url": "https://x/v.mp4?Expires=1900000000"},
            "usage": {"duration": 10, "input_video_duration": 0, "output_video_duration": 10, "SR": 720},
        },
    )
    (clip,) = IMAGE_TO_VIDEO.read_task(snapshot)
    assert clip.kind == "video" and clip.duration_seconds == 10.0
    cost = catalog.named("wan2.6-i2v").price.cost(snapshot.usage)
    assert cost is not None and cost.amount == pytest.approx(6.0) and "720P" in cost.basis
