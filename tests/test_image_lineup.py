"""The 2026 image models: each on its own endpoint and protocol, with its own sizes, counts and prompt limits."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.edit_image import EditImageParams
from bailian_mcp.capabilities.edit_image import build as build_edit
from bailian_mcp.capabilities.images import parse_image_results
from bailian_mcp.capabilities.text_to_image import TextToImageParams
from bailian_mcp.capabilities.text_to_image import build as build_image
from bailian_mcp.catalog import IMAGE2IMAGE, IMAGE_GENERATION, MULTIMODAL_GENERATION, TEXT2IMAGE
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile
from tests.support.media import write_png

BEIJING = BuildContext(region="cn-beijing")
A, B = "https://example.com/a.png", "https://example.com/b.png"


def image(**params: Any) -> Any:
    return build_image(parse_params(TextToImageParams, {"prompt": "a red lantern", **params}), BEIJING)


def edit(context: BuildContext = BEIJING, **params: Any) -> Any:
    return build_edit(parse_params(EditImageParams, {"image": [A], "prompt": "make it blue", **params}), context)


def refusal(build: Any, **params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        build(**params)
    return caught.value


def test_wan25_is_a_text2image_task_with_its_pixel_range() -> None:
    request = image(model="wan2.5-t2i-preview")
    assert request.path == TEXT2IMAGE.path and request.exchange is None
    assert request.body["parameters"]["size"] == "1280*1280"
    assert image(model="wan2.5-t2i-preview", size="768*2700").body["parameters"]["size"] == "768*2700"


@pytest.mark.parametrize("size", ["1024*1024", "640*2700", "1664*928"])
def test_a_size_outside_wans_pixels_or_ratio_is_refused_naming_the_rule(size: str) -> None:
    error = refusal(image, model="wan2.6-t2i", size=size)
    assert error.param == "size" and "1280*1280 to 1440*1440 pixels" in str(error) and "1:4" in str(error)


def test_wan26_is_a_messages_task_on_image_generation() -> None:
    request = image(model="wan2.6-t2i", negative_prompt="blur", n=2, seed=3)
    assert request.path == IMAGE_GENERATION.path and request.exchange is None
    assert request.body["input"] == {"messages": [{"role": "user", "content": [{"text": "a red lantern"}]}]}
    assert request.body["parameters"] == {
        "size": "1280*1280",
        "n": 2,
        "negative_prompt": "blur",
        "prompt_extend": True,
        "watermark": False,
        "seed": 3,
    }


def test_qwen_image_max_is_answered_at_once_one_image_custom_sizes() -> None:
    request = image(model="qwen-image-max", size="1024*1024")
    assert request.path == MULTIMODAL_GENERATION.path and request.exchange is not None
    assert request.body["parameters"]["size"] == "1024*1024"
    assert refusal(image, model="qwen-image-max", n=2).param == "n"


def test_qwen_image_plus_is_a_task_like_qwen_image() -> None:
    request = image(model="qwen-image-plus")
    assert request.path == TEXT2IMAGE.path and request.body["parameters"]["size"] == "1664*928"


def test_qwen_image_3_lets_the_model_choose_the_size_and_makes_up_to_six() -> None:
    request = image(model="qwen-image-3.0", n=6)
    assert request.path == IMAGE_GENERATION.path and "size" not in request.body["parameters"]
    assert request.body["parameters"]["n"] == 6
    assert catalog.named("qwen-image-3.0").price.cost({"image_count": 6}) is None  # no price found: none invented


def test_a_long_prompt_is_allowed_where_the_model_reads_it() -> None:
    assert image(model="wan2.5-t2i-preview", prompt="x" * 2000).warnings == ()
    assert image(model="wan2.2-t2i-flash", prompt="x" * 2000).warnings  # read up to 500: a warning


def test_qwen_image_edit_max_sends_the_images_then_the_instruction() -> None:
    request = edit(model="qwen-image-edit-max", image=[A, B], n=3, size="1536*1024")
    assert request.path == MULTIMODAL_GENERATION.path and request.exchange is not None
    content = request.body["input"]["messages"][0]["content"]
    assert content == [{"image": A}, {"image": B}, {"text": "make it blue"}]
    assert request.body["parameters"]["n"] == 3 and request.body["parameters"]["size"] == "1536*1024"


def test_wan25_i2i_sends_input_images_to_image2image_as_a_task() -> None:
    request = edit(model="wan2.5-i2i-preview", image=[A, B], n=2, negative_prompt="blur")
    assert request.path == IMAGE2IMAGE.path and request.exchange is None
    assert request.body["input"] == {"prompt": "make it blue", "images": [A, B], "negative_prompt": "blur"}
    assert request.body["parameters"] == {"watermark": False, "n": 2}


def test_wan26_image_sends_the_instruction_first_and_takes_named_sizes() -> None:
    request = edit(model="wan2.6-image", image=[A, B, A, B], size="2k")
    assert request.path == IMAGE_GENERATION.path and request.exchange is None
    content = request.body["input"]["messages"][0]["content"]
    assert content[0] == {"text": "make it blue"} and len(content) == 5
    assert request.body["parameters"]["size"] == "2K"


def test_size_on_the_plain_editor_is_refused_naming_the_models_that_take_it() -> None:
    error = refusal(edit, size="1024*1024")
    assert error.param == "size" and "wan2.6-image" in str(error)


def test_composition_from_local_files_uploads_each_image(tmp_path: Path) -> None:
    person, scene = write_png(tmp_path / "person.png", (600, 800)), write_png(tmp_path / "scene.png", (1200, 800))
    context = BuildContext(region="cn-beijing", input_roots=[tmp_path])
    request = edit(context, model="qwen-image-edit-plus", image=[str(person), str(scene)])
    images = [part["image"] for part in request.body["input"]["messages"][0]["content"][:2]]
    assert [i.path for i in images if isinstance(i, LocalFile)] == [person, scene]


def test_a_messages_task_is_read_from_its_choices() -> None:
    snapshot = TaskSnapshot.from_body(
        "t",
        {
            "output": {
                "task_status": "SUCCEEDED",
                "choices": [
                    {"message": {"content": [{"image": "https://x/1.png?Expires=1900000000", "type": "image"}]}},
                    {"message": {"content": [{"image": "https://x/2.png?Expires=1900000000", "type": "image"}]}},
                ],
            },
            "usage": {"image_count": 2},
        },
    )
    outputs = parse_image_results(snapshot)
    assert [o.url for o in outputs] == ["https://x/1.png?Expires=1900000000", "https://x/2.png?Expires=1900000000"]
    assert [o.index for o in outputs] == [0, 1]
