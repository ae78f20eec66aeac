"""Text-to-image: the request `build` sends (validated before paying) and the outputs `parse` reads."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from bailian_mcp.capabilities.base import BuildContext
from bailian_mcp.capabilities.images import parse_image_results as parse
from bailian_mcp.capabilities.text_to_image import (
    PATH,
    PROMPT_MAX,
    TextToImageParams,
    build,
    normalize_size,
)
from bailian_mcp.catalog import ImageModel, resolve
from bailian_mcp.dashscope.client import TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.results import ErrorInfo

BEIJING = BuildContext(region="cn-beijing")
SINGAPORE = BuildContext(region="ap-southeast-1")
VIRGINIA = BuildContext(region="us-east-1")


def body_for(context: BuildContext = BEIJING, **params: Any) -> dict[str, Any]:
    return build(TextToImageParams(**params), context).body


def rejection(context: BuildContext = BEIJING, **params: Any) -> InputError:
    with pytest.raises(InputError) as caught:
        build(TextToImageParams(**params), context)
    return caught.value


def image_model(name: str) -> ImageModel:
    model = resolve("text_to_image", name)
    assert isinstance(model, ImageModel)
    return model


WAN = image_model("wan2.2-t2i-flash")
QWEN = image_model("qwen-image")


# ---------------------------------------------------------------------- the request body


def test_build_sends_the_documented_body_for_wan_with_every_parameter() -> None:
    request = build(
        TextToImageParams(
            prompt="一间有着精致窗户的花店",
            model="wanx2.1-t2i-turbo",
            negative_prompt="人物",
            size="1024*1024",
            n=1,
            seed=42,
            prompt_extend=True,
            watermark=False,
        ),
        BEIJING,
    )
    assert request.path == PATH == "services/aigc/text2image/image-synthesis"
    assert request.model.name == "wanx2.1-t2i-turbo"
    assert request.warnings == ()
    assert request.body == {
        "model": "wanx2.1-t2i-turbo",
        "input": {"prompt": "一间有着精致窗户的花店", "negative_prompt": "人物"},
        "parameters": {"size": "1024*1024", "n": 1, "prompt_extend": True, "watermark": False, "seed": 42},
    }


def test_build_with_only_a_prompt_uses_the_defaults_and_sends_no_seed_or_negative_prompt() -> None:
    assert body_for(prompt="cute cat") == {
        "model": "wan2.2-t2i-flash",
        "input": {"prompt": "cute cat"},
        "parameters": {"size": "1024*1024", "n": 1, "prompt_extend": True, "watermark": False},
    }


def test_build_for_qwen_image_defaults_to_1664x928() -> None:
    assert body_for(prompt="春联", model="qwen-image", watermark=True, prompt_extend=False) == {
        "model": "qwen-image",
        "input": {"prompt": "春联"},
        "parameters": {"size": "1664*928", "n": 1, "prompt_extend": False, "watermark": True},
    }


def test_build_for_wan22_plus_with_four_images_and_a_wide_size() -> None:
    assert body_for(prompt="landscape", model="wan2.2-t2i-plus", n=4, size="1440*810", seed=7) == {
        "model": "wan2.2-t2i-plus",
        "input": {"prompt": "landscape"},
        "parameters": {"size": "1440*810", "n": 4, "prompt_extend": True, "watermark": False, "seed": 7},
    }


def test_seed_zero_is_sent_because_it_was_given() -> None:
    assert body_for(prompt="cat", seed=0)["parameters"]["seed"] == 0


def test_prompt_and_negative_prompt_are_sent_stripped() -> None:
    body = body_for(prompt="  cat on a mat \n", negative_prompt="  dogs  ")
    assert body["input"] == {"prompt": "cat on a mat", "negative_prompt": "dogs"}


def test_a_blank_negative_prompt_is_left_out() -> None:
    assert "negative_prompt" not in body_for(prompt="cat", negative_prompt="   ")["input"]


@pytest.mark.parametrize(
    ("model", "context", "wire"),
    [
        ("wanx2.1-t2i-turbo", SINGAPORE, "wan2.1-t2i-turbo"),
        ("wanx2.1-t2i-plus", VIRGINIA, "wan2.1-t2i-plus"),
        ("wan2.1-t2i-turbo", BEIJING, "wanx2.1-t2i-turbo"),
        ("wan2.1-t2i-turbo", SINGAPORE, "wan2.1-t2i-turbo"),
        ("wan2.2-t2i-flash", SINGAPORE, "wan2.2-t2i-flash"),
    ],
)
def test_the_model_is_sent_under_the_regions_name(model: str, context: BuildContext, wire: str) -> None:
    request = build(TextToImageParams(prompt="cat", model=model), context)
    assert request.body["model"] == wire
    assert request.model.name == resolve("text_to_image", model).name


# ---------------------------------------------------------------------- sizes


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("1024*1024", "1024*1024"),
        ("1024x1024", "1024*1024"),
        ("1024X768", "1024*768"),
        ("1024×1024", "1024*1024"),
        (" 1024 * 768 ", "1024*768"),
        ("512*1440", "512*1440"),
        ("1440*1440", "1440*1440"),
        ("", "1024*1024"),
        ("   ", "1024*1024"),
        (None, "1024*1024"),
    ],
)
def test_wan_size_spellings_are_normalised_to_w_star_h(written: str | None, sent: str) -> None:
    assert body_for(prompt="cat", size=written)["parameters"]["size"] == sent


@pytest.mark.parametrize(
    ("written", "sent"),
    [
        ("1664*928", "1664*928"),
        ("1472*1104", "1472*1104"),
        ("1472*1140", "1472*1104"),
        ("1140*1472", "1104*1472"),
        ("1104x1472", "1104*1472"),
        ("1328 × 1328", "1328*1328"),
        ("928*1664", "928*1664"),
    ],
)
def test_qwen_image_accepts_its_five_sizes_and_the_2025_spellings(written: str, sent: str) -> None:
    assert body_for(prompt="poster", model="qwen-image", size=written)["parameters"]["size"] == sent


@pytest.mark.parametrize("size", ["1024*1024", "1328*1329", "1472*1141", "512*512"])
def test_qwen_image_rejects_any_other_size(size: str) -> None:
    error = rejection(prompt="poster", model="qwen-image", size=size)
    assert error.param == "size" and error.value == size
    message = str(error)
    assert "size=" in message and repr(size) in message
    for allowed in ("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"):
        assert allowed in message


@pytest.mark.parametrize("size", ["511*1024", "1441*1024", "1024*511", "1024*1441", "256*256", "2048*2048"])
def test_wan_rejects_a_side_outside_512_to_1440(size: str) -> None:
    error = rejection(prompt="cat", size=size)
    assert error.param == "size" and error.value == size
    message = str(error)
    assert repr(size) in message and "512" in message and "1440" in message and "wan2.2-t2i-flash" in message


@pytest.mark.parametrize("size", ["big", "1024", "1024*", "*1024", "1024*1024*2", "1024.5*1024", "-1024*1024"])
def test_a_size_that_is_not_w_star_h_is_rejected_with_an_example(size: str) -> None:
    error = rejection(prompt="cat", size=size)
    assert error.param == "size" and error.value == size
    assert "W*H" in str(error) and "1024*1024" in str(error)


@given(width=st.integers(512, 1440), height=st.integers(512, 1440), sep=st.sampled_from(["*", "x", "X", "×", " * "]))
def test_any_wan_size_with_both_sides_in_range_is_accepted_and_normalised(width: int, height: int, sep: str) -> None:
    assert normalize_size(WAN, f"{width}{sep}{height}") == f"{width}*{height}"


_OUT_OF_RANGE = st.one_of(st.integers(0, 511), st.integers(1441, 10_000_000))


@given(
    sides=st.one_of(
        st.tuples(_OUT_OF_RANGE, st.integers(512, 1440)),
        st.tuples(st.integers(512, 1440), _OUT_OF_RANGE),
        st.tuples(_OUT_OF_RANGE, _OUT_OF_RANGE),
    )
)
def test_any_wan_size_with_a_side_out_of_range_is_rejected(sides: tuple[int, int]) -> None:
    size = f"{sides[0]}*{sides[1]}"
    with pytest.raises(InputError) as caught:
        normalize_size(WAN, size)
    assert caught.value.param == "size" and caught.value.value == size


@pytest.mark.slow
@given(text=st.text(max_size=20))
def test_normalize_size_either_returns_a_valid_size_or_raises_input_error(text: str) -> None:
    try:
        size = normalize_size(WAN, text)
    except InputError as error:
        assert error.param == "size"
        return
    width, height = (int(side) for side in size.split("*"))
    assert 512 <= width <= 1440 and 512 <= height <= 1440


# ---------------------------------------------------------------------- other limits


def test_qwen_image_rejects_n_above_1() -> None:
    error = rejection(prompt="poster", model="qwen-image", n=2)
    assert error.param == "n" and error.value == 2
    message = str(error)
    assert "n=2" in message and "at most 1" in message and "qwen-image" in message


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_wan_accepts_1_to_4_images(n: int) -> None:
    assert body_for(prompt="cat", n=n)["parameters"]["n"] == n


@pytest.mark.parametrize("n", [0, 7])
def test_n_outside_what_any_model_makes_is_refused_by_the_parameter_model(n: int) -> None:
    with pytest.raises(ValidationError):
        TextToImageParams(prompt="cat", n=n)


def test_n_5_on_a_wan_model_is_refused_naming_the_models_that_make_it() -> None:
    with pytest.raises(InputError) as caught:
        build(TextToImageParams(prompt="cat", n=5), BEIJING)
    assert caught.value.param == "n" and "qwen-image-3.0" in str(caught.value)


@pytest.mark.parametrize("seed", [-1, 2_147_483_648])
def test_seed_outside_the_int32_range_is_refused_by_the_parameter_model(seed: int) -> None:
    with pytest.raises(ValidationError):
        TextToImageParams(prompt="cat", seed=seed)


def test_unknown_parameters_are_refused_not_dropped() -> None:
    with pytest.raises(ValidationError):
        TextToImageParams(prompt="cat", resolution="1024*1024")  # type: ignore[call-arg]


def test_wanx20_is_only_offered_in_beijing() -> None:
    assert body_for(prompt="cat", model="wanx2.0-t2i-turbo")["model"] == "wanx2.0-t2i-turbo"
    for context in (SINGAPORE, VIRGINIA):
        error = rejection(context, prompt="cat", model="wanx2.0-t2i-turbo")
        assert error.param == "model" and error.value == "wanx2.0-t2i-turbo"
        message = str(error)
        assert context.region in message and "cn-beijing" in message


def test_an_unknown_model_is_an_input_error_with_a_hint() -> None:
    error = rejection(prompt="cat", model="wanx2.2-t2i-flash")
    assert error.param == "model" and "did you mean 'wan2.2-t2i-flash'" in str(error)


@pytest.mark.parametrize("prompt", ["   ", "\n\t"])
def test_a_blank_prompt_is_rejected(prompt: str) -> None:
    error = rejection(prompt=prompt)
    assert error.param == "prompt" and error.value == prompt
    assert "prompt=" in str(error) and "non-blank" in str(error)


def test_an_empty_prompt_or_one_longer_than_any_model_reads_is_refused_by_the_parameter_model() -> None:
    with pytest.raises(ValidationError):
        TextToImageParams(prompt="")
    with pytest.raises(ValidationError):
        TextToImageParams(prompt="x" * (PROMPT_MAX + 1))


def test_a_prompt_longer_than_the_model_reads_is_a_warning_not_an_error() -> None:
    request = build(TextToImageParams(prompt="x" * 600, model="wan2.2-t2i-flash"), BEIJING)
    assert request.body["input"]["prompt"] == "x" * 600
    assert len(request.warnings) == 1
    assert "600" in request.warnings[0] and "500" in request.warnings[0]


@pytest.mark.parametrize(
    ("model", "length"), [("qwen-image", 800), ("wanx2.0-t2i-turbo", 800), ("wan2.2-t2i-plus", 500)]
)
def test_a_prompt_within_the_models_limit_has_no_warning(model: str, length: int) -> None:
    assert build(TextToImageParams(prompt="y" * length, model=model), BEIJING).warnings == ()


def test_the_prompt_limit_warning_counts_the_stripped_prompt() -> None:
    assert build(TextToImageParams(prompt="z" * 500 + " " * 100), BEIJING).warnings == ()


@pytest.mark.parametrize(
    ("params", "context"),
    [
        ({"prompt": "   "}, BEIJING),
        ({"prompt": "cat", "model": "nope"}, BEIJING),
        ({"prompt": "cat", "model": "qwen-image", "n": 3}, BEIJING),
        ({"prompt": "cat", "size": "99*99"}, BEIJING),
        ({"prompt": "cat", "model": "qwen-image", "size": "1024*1024"}, BEIJING),
        ({"prompt": "cat", "model": "wanx2.0-t2i-turbo"}, SINGAPORE),
    ],
)
def test_every_input_error_names_the_parameter_the_value_and_what_is_allowed(
    params: dict[str, Any], context: BuildContext
) -> None:
    error = rejection(context, **params)
    message = str(error)
    assert message.startswith(f"Invalid {error.param}={error.value!r}: ")
    assert error.param in params and params[error.param] == error.value
    assert len(error.allowed) > 10 and error.allowed in message
    assert "Nothing was sent to DashScope" in message


# ---------------------------------------------------------------------- parse


def snapshot(output: dict[str, Any], usage: dict[str, Any] | None = None) -> TaskSnapshot:
    return TaskSnapshot(task_id="t-1", status="SUCCEEDED", output=output, usage=usage or {}, request_id="r")


def test_parse_reads_each_url_with_its_prompts_and_its_signed_expiry() -> None:
    url = (
        "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/1d/a.png"
        "?Expires=1709372335&OSSAccessKeyId=LTAI&Signature=abc%3D"
    )
    outputs = parse(
        snapshot(
            {
                "task_id": "t-1",
                "task_status": "SUCCEEDED",
                "end_time": "2024-03-01 17:38:55.565",
                "results": [{"orig_prompt": "cat", "actual_prompt": "a fluffy cat", "url": url}],
            },
            {"image_count": 1},
        )
    )
    assert len(outputs) == 1
    only = outputs[0]
    assert only.index == 0 and only.kind == "image" and only.url == url and only.error is None
    assert only.orig_prompt == "cat" and only.actual_prompt == "a fluffy cat"
    assert only.url_expires_at == "2024-03-02T09:38:55Z"
    assert only.path is None and only.sha256 is None


def test_parse_falls_back_to_end_time_plus_24_hours_for_an_unsigned_url() -> None:
    outputs = parse(snapshot({"end_time": "2025-08-13 18:04:55.601", "results": [{"url": "https://xxx.test/a.png"}]}))
    assert outputs[0].url_expires_at == "2025-08-14T10:04:55.601000Z"


def test_parse_leaves_the_expiry_unknown_without_a_signature_or_end_time() -> None:
    assert parse(snapshot({"results": [{"url": "https://xxx.test/a.png"}]}))[0].url_expires_at is None


def test_a_partially_failed_result_becomes_an_output_with_its_error() -> None:
    outputs = parse(
        snapshot(
            {
                "end_time": "2024-03-01 17:38:55.565",
                "results": [
                    {"url": "https://dashscope-result-bj.oss-cn-beijing.aliyuncs.com/123/a1.png"},
                    {"code": "InternalError.Timeout", "message": "An internal timeout error has occured"},
                ],
                "task_metrics": {"TOTAL": 2, "SUCCEEDED": 1, "FAILED": 1},
            },
            {"image_count": 1},
        )
    )
    assert [o.index for o in outputs] == [0, 1]
    assert outputs[0].error is None and outputs[0].url is not None
    assert outputs[1].url is None and outputs[1].url_expires_at is None and outputs[1].kind == "image"
    assert outputs[1].error == ErrorInfo(code="InternalError.Timeout", message="An internal timeout error has occured")


def test_a_failed_entry_without_a_code_is_reported_as_unknown() -> None:
    outputs = parse(snapshot({"results": [{}]}))
    assert outputs[0].error == ErrorInfo(code="Unknown", message="")


def test_parse_of_a_task_without_results_is_empty() -> None:
    assert parse(snapshot({"task_status": "SUCCEEDED"})) == []
    assert parse(snapshot({"results": None})) == []


def test_the_cost_is_the_image_count_times_the_models_price() -> None:
    cost = WAN.price.cost({"image_count": 3})
    assert cost is not None
    assert cost.amount == pytest.approx(0.42) and cost.currency == "CNY"
    assert cost.basis == "3 images × 0.14 CNY/image"
    assert QWEN.price.cost({"image_count": 1}).amount == pytest.approx(0.25)  # type: ignore[union-attr]


def test_there_is_no_cost_when_the_service_reports_no_image_count() -> None:
    assert WAN.price.cost({}) is None
