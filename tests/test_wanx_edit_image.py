"""wanx2.1-imageedit: each function's request (§6 of the protocol notes), its refusals, and reading its results."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from bailian_mcp.capabilities.base import BuildContext, parse_params
from bailian_mcp.capabilities.wanx_edit_image import (
    FUNCTION_PARAMETERS,
    PATH,
    WANX_EDIT_IMAGE,
    WanxEditImageParams,
    build,
)
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import LocalFile
from tests.support.media import png_bytes

BEIJING = BuildContext(region="cn-beijing")
BASE_IMAGE = "http://wanx.alicdn.com/material/20250318/expand_2.jpg"
MASK = "http://wanx.alicdn.com/material/20250318/mask.png"
COMMON = {"n": 1, "watermark": False}


def body_for(context: BuildContext = BEIJING, **params: Any) -> dict[str, Any]:
    return build(WanxEditImageParams(**{"base_image_url": BASE_IMAGE, "prompt": "p", **params}), context).body


def rejection(context: BuildContext = BEIJING, **params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        body_for(context, **params)
    return caught.value


# ---------------------------------------------------------------------- the ten functions


@pytest.mark.parametrize(
    ("function", "own", "prompt"),
    [
        ("stylization_all", {"strength": 0.7}, "转换成法国绘本风格"),
        ("stylization_local", {}, "把房子变成木板风格"),
        ("description_edit", {"strength": 0.3}, "把女孩的头发修改为红色"),
        ("remove_watermark", {}, "去除图像中的文字"),
        (
            "expand",
            {"top_scale": 1.5, "bottom_scale": 1.2, "left_scale": 2.0, "right_scale": 1.0},
            "一位绿色仙子",
        ),
        ("super_resolution", {"upscale_factor": 2}, "图像超分"),
        ("colorization", {}, "蓝色背景，黄色的叶子"),
        ("doodle", {"is_sketch": True}, "北欧极简风格的客厅"),
        ("control_cartoon_feature", {}, "卡通形象小心翼翼地探出头"),
    ],
)
def test_each_function_sends_the_documented_body_with_its_own_parameters(
    function: str, own: dict[str, Any], prompt: str
) -> None:
    params = parse_params(
        WanxEditImageParams, {"function": function, "prompt": prompt, "base_image_url": BASE_IMAGE, **own}
    )
    request = build(params, BEIJING)
    assert request.path == PATH == "services/aigc/image2image/image-synthesis"
    assert request.model.name == "wanx2.1-imageedit"
    assert request.body == {
        "model": "wanx2.1-imageedit",
        "input": {"function": function, "prompt": prompt, "base_image_url": BASE_IMAGE},
        "parameters": {**COMMON, **own},
    }


def test_description_edit_with_mask_sends_the_mask() -> None:
    body = body_for(function="description_edit_with_mask", prompt="陶瓷兔子抱着一朵陶瓷花", mask_image_url=MASK)
    assert body == {
        "model": "wanx2.1-imageedit",
        "input": {
            "function": "description_edit_with_mask",
            "prompt": "陶瓷兔子抱着一朵陶瓷花",
            "base_image_url": BASE_IMAGE,
            "mask_image_url": MASK,
        },
        "parameters": COMMON,
    }


def test_the_common_parameters_n_seed_and_watermark_are_sent() -> None:
    body = body_for(function="colorization", n=4, seed=0, watermark=True)
    assert body["parameters"] == {"n": 4, "seed": 0, "watermark": True}


def test_only_the_given_expand_scales_are_sent() -> None:
    assert body_for(function="expand", left_scale=1.5)["parameters"] == {**COMMON, "left_scale": 1.5}


def test_doodle_with_is_sketch_false_sends_false() -> None:
    assert body_for(function="doodle", is_sketch=False)["parameters"] == {**COMMON, "is_sketch": False}


def test_the_prompt_is_sent_stripped() -> None:
    assert body_for(function="colorization", prompt="  colour it \n")["input"]["prompt"] == "colour it"


def test_every_function_specific_parameter_is_declared_with_its_functions() -> None:
    assert FUNCTION_PARAMETERS == {
        "strength": ("stylization_all", "description_edit"),
        "top_scale": ("expand",),
        "bottom_scale": ("expand",),
        "left_scale": ("expand",),
        "right_scale": ("expand",),
        "upscale_factor": ("super_resolution",),
        "is_sketch": ("doodle",),
    }


# ---------------------------------------------------------------------- a parameter with the wrong function


@pytest.mark.parametrize(
    ("function", "name", "value"),
    [
        ("expand", "strength", 0.5),
        ("doodle", "upscale_factor", 2),
        ("super_resolution", "is_sketch", True),
        ("description_edit", "top_scale", 1.5),
        ("stylization_local", "strength", 0.5),
        ("description_edit_with_mask", "strength", 0.5),
        ("colorization", "right_scale", 2.0),
        ("expand", "upscale_factor", 1),
        ("remove_watermark", "is_sketch", False),
    ],
)
def test_a_function_parameter_with_another_function_is_refused(function: str, name: str, value: Any) -> None:
    error = rejection(function=function, mask_image_url=MASK if "mask" in function else None, **{name: value})
    assert error.param == name and error.value == value
    assert "only applies to function" in str(error) and f"not {function}" in str(error)


def test_the_refusal_names_the_functions_that_take_the_parameter() -> None:
    assert "stylization_all or description_edit" in str(rejection(function="expand", strength=0.5))


@pytest.mark.parametrize(
    ("name", "value"),
    [("strength", 1.5), ("top_scale", 0.9), ("left_scale", 2.5), ("upscale_factor", 5), ("n", 5), ("n", 0)],
)
def test_out_of_range_values_are_refused_by_the_params_model(name: str, value: Any) -> None:
    with pytest.raises(InputError) as caught:
        parse_params(
            WanxEditImageParams,
            {"function": "expand", "prompt": "p", "base_image_url": BASE_IMAGE, name: value},
        )
    assert caught.value.param == name


def test_an_unknown_function_is_refused_by_the_params_model() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(WanxEditImageParams, {"function": "inpaint", "prompt": "p", "base_image_url": BASE_IMAGE})
    assert caught.value.param == "function" and "description_edit_with_mask" in str(caught.value)


# ---------------------------------------------------------------------- the mask


def test_description_edit_with_mask_requires_a_mask() -> None:
    error = rejection(function="description_edit_with_mask")
    assert error.param == "mask_image_url"
    assert "needs a black-and-white mask" in str(error)


@pytest.mark.parametrize("function", ["description_edit", "stylization_all", "expand", "remove_watermark"])
def test_a_mask_is_refused_for_other_functions(function: str) -> None:
    error = rejection(function=function, mask_image_url=MASK)
    assert error.param == "mask_image_url"
    assert "only applies to function description_edit_with_mask" in str(error)


def test_a_mask_of_another_resolution_than_the_base_is_refused_naming_both_sizes(tmp_path: Path) -> None:
    base, mask = tmp_path / "base.png", tmp_path / "mask.png"
    base.write_bytes(png_bytes(800, 600))
    mask.write_bytes(png_bytes(600, 800))
    with pytest.raises(InputError) as caught:
        build(
            WanxEditImageParams(
                function="description_edit_with_mask", prompt="p", base_image_url=str(base), mask_image_url=str(mask)
            ),
            BuildContext("cn-beijing", [tmp_path]),
        )
    assert caught.value.param == "mask_image_url"
    assert "the mask is 600×800 but the base image is 800×600" in str(caught.value)


def test_a_local_mask_of_the_same_resolution_becomes_a_placeholder_like_the_base(tmp_path: Path) -> None:
    base, mask = tmp_path / "base.png", tmp_path / "mask.png"
    base.write_bytes(png_bytes(640, 512))
    mask.write_bytes(png_bytes(640, 512))
    request = build(
        WanxEditImageParams(
            function="description_edit_with_mask", prompt="p", base_image_url=str(base), mask_image_url=str(mask)
        ),
        BuildContext("cn-beijing", [tmp_path]),
    )
    body_input = request.body["input"]
    assert isinstance(body_input["base_image_url"], LocalFile) and body_input["base_image_url"].path == base.resolve()
    assert isinstance(body_input["mask_image_url"], LocalFile) and body_input["mask_image_url"].path == mask.resolve()


def test_a_local_base_image_smaller_than_512_is_refused(tmp_path: Path) -> None:
    base = tmp_path / "base.png"
    base.write_bytes(png_bytes(511, 600))
    with pytest.raises(InputError) as caught:
        build(
            WanxEditImageParams(function="colorization", prompt="p", base_image_url=str(base)),
            BuildContext("cn-beijing", [tmp_path]),
        )
    assert caught.value.param == "base_image_url" and "511×600" in str(caught.value)


# ---------------------------------------------------------------------- region, prompt


@pytest.mark.parametrize("region", ["ap-southeast-1", "us-east-1"])
def test_regions_other_than_beijing_are_refused(region: str) -> None:
    error = rejection(BuildContext(region=region), function="colorization")
    assert error.param == "model"
    assert "only offered in cn-beijing" in str(error)


def test_a_blank_prompt_is_refused() -> None:
    assert rejection(function="colorization", prompt="  ").param == "prompt"


def test_an_801_character_prompt_is_refused_by_the_params_model() -> None:
    with pytest.raises(InputError) as caught:
        parse_params(
            WanxEditImageParams, {"function": "colorization", "prompt": "x" * 801, "base_image_url": BASE_IMAGE}
        )
    assert caught.value.param == "prompt"


# ---------------------------------------------------------------------- reading the result (§6 = §2)


def test_parse_reads_each_result_url_and_per_image_errors() -> None:
    url = "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/a.png?Expires=1709372335&Signature=s"
    snapshot = TaskSnapshot.from_body(
        "t-1",
        {
            "request_id": "r",
            "output": {
                "task_id": "t-1",
                "task_status": "SUCCEEDED",
                "submit_time": "2025-03-18 10:00:00.000",
                "end_time": "2025-03-18 10:00:09.500",
                "results": [
                    {"url": url},
                    {"code": "InternalError.Algo", "message": "Inference failed."},
                    {"url": "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/b.png"},
                ],
                "task_metrics": {"TOTAL": 3, "SUCCEEDED": 2, "FAILED": 1},
            },
            "usage": {"image_count": 2},
        },
    )
    outputs = WANX_EDIT_IMAGE.parse(snapshot)
    assert [(o.index, o.kind, o.url) for o in outputs] == [
        (0, "image", url),
        (1, "image", None),
        (2, "image", "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/b.png"),
    ]
    assert outputs[0].url_expires_at == "2024-03-02T09:38:55Z"
    assert outputs[2].url_expires_at == "2025-03-19T02:00:09.500000Z"  # end_time (UTC+8) + 24 h
    assert outputs[1].error is not None and outputs[1].error.code == "InternalError.Algo"
    cost = WANX_EDIT_IMAGE.build(
        WanxEditImageParams(function="colorization", prompt="p", base_image_url=BASE_IMAGE), BEIJING
    ).model.price.cost(snapshot.usage)
    assert cost is not None and cost.amount == pytest.approx(0.28)
