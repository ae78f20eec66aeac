"""Text-to-image: wan2.2 / wanx2.1 / wanx2.0 and qwen-image, over the async image-synthesis endpoint."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, Params, Request
from bailian_mcp.capabilities.fields import Seed, largest, model_field, models_where, per_model
from bailian_mcp.capabilities.images import check_size, parse_image_results, prompted_body
from bailian_mcp.catalog import ImageModel
from bailian_mcp.errors import InputError

NAME = "text_to_image"
PATH = "services/aigc/text2image/image-synthesis"


def _image_model(model: catalog.ModelSpec) -> ImageModel:
    assert isinstance(model, ImageModel)
    return model


def _sizes(model: catalog.ModelSpec) -> str:
    image = _image_model(model)
    return f"{image.sizes.describe()}, default {image.default_size}"


class TextToImageParams(Params):
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=800,
            description="What to draw (Chinese or English), up to 800 characters. Describe subject, style, "
            "lighting and composition.",
        ),
    ]
    model: Annotated[str, model_field(NAME)] = catalog.default_model(NAME)
    negative_prompt: Annotated[
        str, Field(max_length=500, description="What to keep out of the picture, up to 500 characters.")
    ] = ""
    size: Annotated[
        str | None,
        Field(description="Output size W*H: " + per_model(NAME, _sizes) + ".", examples=["1024*1024", "1440*810"]),
    ] = None
    n: Annotated[
        int,
        Field(
            ge=1,
            le=largest(NAME, lambda m: _image_model(m).n_max),
            description="How many images, at most " + per_model(NAME, lambda m: _image_model(m).n_max) + ".",
        ),
    ] = 1
    prompt_extend: Annotated[
        bool, Field(description="Let the service rewrite the prompt for better results (adds a few seconds).")
    ] = True
    watermark: Annotated[bool, Field(description="Add the 'AI生成' watermark in the corner.")] = False
    seed: Seed = None


def normalize_size(model: ImageModel, size: str | None) -> str:
    """The size to send for `model`: the default, or `size` checked against the model's rule."""
    if size is None or not size.strip():
        return model.default_size
    return check_size(model.sizes, size, model=model.name)


def build(params: TextToImageParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, ImageModel)
    if params.n > model.n_max:
        several = models_where(NAME, lambda m: _image_model(m).n_max >= params.n)
        most = largest(NAME, lambda m: _image_model(m).n_max)
        raise InputError(
            "n", params.n, f"{model.name} makes at most {model.n_max} image per call; use {several} for up to {most}"
        )
    size = normalize_size(model, params.size)
    body, warnings = prompted_body(params, model, context, what="the picture", size=size, n=params.n)
    return Request(model=model, path=PATH, body=body, warnings=tuple(warnings))


TEXT_TO_IMAGE = Capability(
    name=NAME,
    title="Text to image",
    summary=(
        "Generate images from a text prompt (Wanxiang wan2.2/wanx2.1/wanx2.0, or qwen-image for text inside "
        "the picture). Returns saved files, a preview and URLs. Costs per image."
    ),
    description=(
        "Generate images from a text prompt with Alibaba Bailian (Wanxiang wan2.2/wanx2.1/wanx2.0 or Qwen-Image): "
        "a preview, the saved files and their URLs. Costs money per image (see cost)."
    ),
    params_model=TextToImageParams,
    build=build,
    parse=parse_image_results,
    file_suffix=".png",
    command="text2image",
    group="image",
    batch_sections=("image_tasks",),
    pacing="image",
)
