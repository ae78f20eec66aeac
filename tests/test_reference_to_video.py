"""reference_to_video: references as wan2.6's `reference_urls` or wan2.7's `media` items, their counts checked per
model before anything is sent."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.reference_to_video import ReferenceToVideoParams, build
from bailian_mcp.catalog import VIDEO_SYNTHESIS
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile
from tests.support.media import write_png

BEIJING = BuildContext(region="cn-beijing")
HERO = "https://example.com/hero.png"
DOG = "https://example.com/dog.jpg"
CLIP = "https://example.com/dance.mp4"


def request_for(context: BuildContext = BEIJING, **params: Any) -> Any:
    return build(parse_params(ReferenceToVideoParams, {"prompt": "character1 waves", **params}), context)


def rejection(**params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        request_for(**params)
    return caught.value


def test_wan26_sends_reference_urls_and_a_size() -> None:
    request = request_for(references=[HERO, CLIP], duration=10, multi_shot=True)
    assert request.path == VIDEO_SYNTHESIS.path and request.model.name == "wan2.6-r2v"
    assert request.body["input"]["reference_urls"] == [HERO, CLIP]
    assert request.body["parameters"] == {
        "size": "1920*1080",
        "duration": 10,
        "shot_type": "multi",
        "prompt_extend": True,
        "watermark": False,
    }


def test_wan27_sends_media_reference_items_with_a_tier_and_ratio() -> None:
    body = request_for(model="wan2.7-r2v", references=[HERO, CLIP], resolution="720P", ratio="9:16").body
    assert body["input"]["media"] == [
        {"type": "reference_image", "url": HERO},
        {"type": "reference_video", "url": CLIP},
    ]
    assert body["parameters"]["resolution"] == "720P" and body["parameters"]["ratio"] == "9:16"


def test_a_w_by_h_for_wan27_is_its_tier_and_ratio() -> None:
    parameters = request_for(model="wan2.7-r2v", references=[HERO], resolution="1248*1648").body["parameters"]
    assert (parameters["resolution"], parameters["ratio"]) == ("1080P", "3:4")


def test_wan27_with_a_reference_clip_makes_at_most_ten_seconds() -> None:
    assert request_for(model="wan2.7-r2v", references=[HERO], duration=15).body["parameters"]["duration"] == 15
    error = rejection(model="wan2.7-r2v", references=[CLIP], duration=12)
    assert error.param == "duration" and "10" in str(error)


def test_too_many_clips_for_wan26_are_refused() -> None:
    error = rejection(
        references=[CLIP, CLIP.replace("dance", "run"), CLIP.replace("dance", "jump"), DOG.replace("jpg", "mov")]
    )
    assert error.param == "references" and "at most 3 clips" in str(error)


def test_more_references_than_any_model_takes_are_refused_by_the_parameters() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(ReferenceToVideoParams, {"prompt": "p", "references": [HERO] * 6})
    assert caught.value.param == "references"


def test_a_reference_that_is_neither_image_nor_clip_is_refused() -> None:
    error = rejection(references=["https://example.com/who?id=7"])
    assert error.param == "references" and ".mp4" in str(error)


def test_a_ratio_on_wan26_is_its_size(tmp_path: Path) -> None:
    assert request_for(references=[HERO], ratio="9:16").body["parameters"]["size"] == "1080*1920"


def test_local_references_become_files_to_upload(tmp_path: Path) -> None:
    picture = write_png(tmp_path / "hero.png", (600, 800))
    context = BuildContext(region="cn-beijing", input_roots=[tmp_path])
    params = parse_params(ReferenceToVideoParams, {"prompt": "character1 waves", "references": [str(picture)]})
    (reference,) = build(params, context).body["input"]["reference_urls"]
    assert isinstance(reference, LocalFile) and reference.path == picture


def test_references_sent_as_json_text_are_a_list() -> None:
    assert request_for(references=f'["{HERO}", "{DOG}"]').body["input"]["reference_urls"] == [HERO, DOG]
