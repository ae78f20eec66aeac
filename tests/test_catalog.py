"""The model catalogue: names, aliases, regions and the helpful errors of `resolve`."""

from __future__ import annotations

import pytest

from bailian_mcp import catalog
from bailian_mcp.catalog import (
    INTERNATIONAL,
    REGIONS,
    FixedSizes,
    ImageModel,
    RateLimit,
    SideRange,
    per_image,
    resolve,
)
from bailian_mcp.errors import InputError

BRIEF_TEXT_TO_IMAGE = (
    "qwen-image",
    "wan2.2-t2i-flash",
    "wan2.2-t2i-plus",
    "wanx2.1-t2i-turbo",
    "wanx2.1-t2i-plus",
    "wanx2.0-t2i-turbo",
)


def test_every_text_to_image_model_of_the_brief_is_in_the_catalogue() -> None:
    names = {m.name for m in catalog.models_for("text_to_image")}
    assert set(BRIEF_TEXT_TO_IMAGE) <= names


def test_model_names_and_aliases_are_unique_across_the_catalogue() -> None:
    seen: list[str] = []
    for model in catalog.MODELS:
        seen.extend([model.name, *model.aliases])
    assert len(seen) == len(set(seen))


@pytest.mark.parametrize("name", BRIEF_TEXT_TO_IMAGE)
def test_resolve_finds_each_model_by_its_exact_name(name: str) -> None:
    model = resolve("text_to_image", name)
    assert model.name == name and model.capability == "text_to_image"


@pytest.mark.parametrize(
    ("alias", "canonical"),
    [("wan2.1-t2i-turbo", "wanx2.1-t2i-turbo"), ("wan2.1-t2i-plus", "wanx2.1-t2i-plus")],
)
def test_resolve_maps_the_international_spelling_to_the_catalogue_name(alias: str, canonical: str) -> None:
    assert resolve("text_to_image", alias).name == canonical


@pytest.mark.parametrize(
    ("spelling", "canonical"),
    [
        ("  wan2.2-t2i-flash  ", "wan2.2-t2i-flash"),
        ("WAN2.2-T2I-FLASH", "wan2.2-t2i-flash"),
        ("\tQwen-Image\n", "qwen-image"),
        ("Wan2.1-T2I-Turbo", "wanx2.1-t2i-turbo"),
    ],
)
def test_resolve_tolerates_case_and_surrounding_whitespace(spelling: str, canonical: str) -> None:
    assert resolve("text_to_image", spelling).name == canonical


def test_a_wrong_wan_prefix_gets_a_did_you_mean_hint() -> None:
    with pytest.raises(InputError) as caught:
        resolve("text_to_image", "wanx2.2-t2i-flash")
    message = str(caught.value)
    assert "did you mean 'wan2.2-t2i-flash'" in message
    assert caught.value.param == "model" and caught.value.value == "wanx2.2-t2i-flash"
    assert "wanx2.2-t2i-flash" in message


def test_an_unknown_model_lists_the_models_of_the_capability() -> None:
    with pytest.raises(InputError) as caught:
        resolve("text_to_image", "dall-e-3")
    message = str(caught.value)
    assert "did you mean" not in message
    for name in BRIEF_TEXT_TO_IMAGE:
        assert name in message
    assert "Nothing was sent" in message


def test_the_error_uses_the_parameter_name_given_by_the_caller() -> None:
    with pytest.raises(InputError) as caught:
        resolve("text_to_image", "nope", param="image_model")
    assert caught.value.param == "image_model" and "image_model=" in str(caught.value)


def test_a_model_of_another_capability_is_named_as_such() -> None:
    with pytest.raises(InputError) as caught:
        resolve("text_to_image", "qwen-plus")
    message = str(caught.value)
    assert "qwen-plus is a text_to_text model" in message
    assert "for text_to_image use one of" in message and "wan2.2-t2i-flash" in message
    with pytest.raises(InputError, match="qwen-image is a text_to_image model"):
        resolve("text_to_text", "qwen-image")


@pytest.mark.parametrize(
    ("name", "region", "wire"),
    [
        ("wanx2.1-t2i-turbo", "cn-beijing", "wanx2.1-t2i-turbo"),
        ("wanx2.1-t2i-turbo", "ap-southeast-1", "wan2.1-t2i-turbo"),
        ("wanx2.1-t2i-turbo", "us-east-1", "wan2.1-t2i-turbo"),
        ("wanx2.1-t2i-plus", "cn-beijing", "wanx2.1-t2i-plus"),
        ("wanx2.1-t2i-plus", "ap-southeast-1", "wan2.1-t2i-plus"),
        ("wan2.2-t2i-flash", "ap-southeast-1", "wan2.2-t2i-flash"),
        ("qwen-image", "us-east-1", "qwen-image"),
    ],
)
def test_wire_name_is_the_regions_spelling_of_the_model(name: str, region: str, wire: str) -> None:
    assert resolve("text_to_image", name).wire_name(region) == wire


def test_wanx20_is_offered_only_in_beijing_and_the_others_everywhere() -> None:
    assert resolve("text_to_image", "wanx2.0-t2i-turbo").regions == ("cn-beijing",)
    for name in BRIEF_TEXT_TO_IMAGE:
        if name != "wanx2.0-t2i-turbo":
            assert resolve("text_to_image", name).regions == REGIONS
    assert set(INTERNATIONAL) < set(REGIONS)


def test_qwen_image_has_five_fixed_sizes_one_image_and_a_16_9_default() -> None:
    model = resolve("text_to_image", "qwen-image")
    assert isinstance(model, ImageModel)
    assert isinstance(model.sizes, FixedSizes)
    assert set(model.sizes.sizes) == {"1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"}
    assert model.default_size == "1664*928" and model.n_max == 1 and model.prompt_max == 800
    assert model.price == per_image(0.25)


@pytest.mark.parametrize("name", [n for n in BRIEF_TEXT_TO_IMAGE if n != "qwen-image"])
def test_wan_models_take_any_side_from_512_to_1440_and_up_to_4_images(name: str) -> None:
    model = resolve("text_to_image", name)
    assert isinstance(model, ImageModel)
    assert model.sizes == SideRange(512, 1440)
    assert model.default_size == "1024*1024" and model.n_max == 4
    assert model.negative_prompt_max == 500


@pytest.mark.parametrize(
    ("name", "prompt_max"),
    [
        ("wan2.2-t2i-flash", 500),
        ("wan2.2-t2i-plus", 500),
        ("wanx2.1-t2i-turbo", 500),
        ("wanx2.1-t2i-plus", 500),
        ("wanx2.0-t2i-turbo", 800),
        ("qwen-image", 800),
    ],
)
def test_prompt_limits_follow_the_current_service(name: str, prompt_max: int) -> None:
    model = resolve("text_to_image", name)
    assert isinstance(model, ImageModel) and model.prompt_max == prompt_max


def test_image_models_submit_at_2_per_second_with_2_at_once() -> None:
    for model in catalog.models_for("text_to_image"):
        assert model.rate == RateLimit(submit_rps=2, concurrency=2)


def test_describe_texts_state_the_rule() -> None:
    assert per_image(0.14).describe() == "0.14 CNY/image"
    assert FixedSizes(sizes=("1*2", "3*4")).describe() == "one of 1*2, 3*4"
    assert "from 512 to 1440" in SideRange(512, 1440).describe()


def test_the_catalogue_can_be_read_for_one_region() -> None:
    beijing_only = [m.name for m in catalog.MODELS if m.regions == ("cn-beijing",)]
    singapore = {entry["name"] for entry in catalog.catalogue(region="ap-southeast-1")}
    assert beijing_only and not singapore & set(beijing_only)
    assert {entry["name"] for entry in catalog.catalogue(region="cn-beijing")} >= set(beijing_only)


def test_every_video_size_of_every_table_is_priced_at_its_tier() -> None:
    from bailian_mcp.catalog.spec import VIDEO_SIZES, WAN27_VIDEO_SIZES, VideoPrice

    price = VideoPrice({"480P": 0.1, "720P": 0.2, "1080P": 0.3})
    for table in (VIDEO_SIZES, WAN27_VIDEO_SIZES):
        for (tier, _), size in table.items():
            cost = price.cost({"duration": 5, "size": size})
            assert cost is not None and cost.basis.endswith(f"at {tier}"), size
