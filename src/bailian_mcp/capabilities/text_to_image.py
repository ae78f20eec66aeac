"""Text-to-image: wan2.2 / wanx2.1 / wanx2.0 and qwen-image, over the async image-synthesis endpoint."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, ExchangeContext, Outcome, Params, Request
from bailian_mcp.capabilities.fields import Lean, Seed, largest, model_field, models_where, per_model
from bailian_mcp.capabilities.images import (
    call_for_images,
    check_size,
    generation_parameters,
    messages_body,
    parse_image_results,
    prompt_text,
    prompted_body,
)
from bailian_mcp.catalog import TEXT2IMAGE, ImageModel
from bailian_mcp.errors import InputError

NAME = "text_to_image"
PATH = TEXT2IMAGE.path  # the endpoint of the brief's models


def _image_model(model: catalog.ModelSpec) -> ImageModel:
    assert isinstance(model, ImageModel)
    return model


def _sizes(model: catalog.ModelSpec) -> str:
    image = _image_model(model)
    return f"{image.sizes.describe()}, default {image.default_size or 'chosen by the model'}"


PROMPT_MAX = largest(NAME, lambda m: _image_model(m).prompt_max)


class TextToImageParams(Params):
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=PROMPT_MAX,
            description="What to draw (Chinese or English). Describe subject, style, lighting and composition. "
            "Each model reads at most " + per_model(NAME, lambda m: _image_model(m).prompt_max) + " characters.",
        ),
        Lean("What to draw."),
    ]
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    negative_prompt: Annotated[
        str, Field(max_length=500, description="What to keep out of the picture, up to 500 characters.")
    ] = ""
    size: Annotated[
        str | None,
        Field(description="Output size W*H: " + per_model(NAME, _sizes) + ".", examples=["1024*1024", "1440*810"]),
        Lean("W*H, e.g. 1024*1024."),
    ] = None
    n: Annotated[
        int,
        Field(
            ge=1,
            le=largest(NAME, lambda m: _image_model(m).n_max),
            description="How many images, at most " + per_model(NAME, lambda m: _image_model(m).n_max) + ".",
        ),
        Lean("How many images."),
    ] = 1
    prompt_extend: Annotated[
        bool,
        Field(description="Let the service rewrite the prompt for better results (adds a few seconds)."),
        Lean("Let the service rewrite the prompt."),
    ] = True
    watermark: Annotated[bool, Field(description="Add the 'AI生成' watermark in the corner."), Lean("")] = False
    seed: Seed = None


def normalize_size(model: ImageModel, size: str | None) -> str | None:
    """The size to send for `model`: the default (None: the model chooses), or `size` checked against its rule."""
    if size is None or not size.strip():
        return model.default_size
    return check_size(model.sizes, size, model=model.name)


def build(params: TextToImageParams, context: BuildContext) -> Request:
    """The request for the model's endpoint: a prompt on text2image (a task), or a text message on the messages
    protocol (a task on image-generation, or answered at once on multimodal-generation)."""
    model = catalog.resolve_in_region(NAME, params.model, context.region, ImageModel)
    if params.n > model.n_max:
        several = models_where(NAME, lambda m: _image_model(m).n_max >= params.n)
        most = largest(NAME, lambda m: _image_model(m).n_max)
        raise InputError(
            "n", params.n, f"{model.name} makes at most {model.n_max} image per call; use {several} for up to {most}"
        )
    size = normalize_size(model, params.size)
    usage = {"image_count": params.n}
    if model.endpoint == TEXT2IMAGE:
        body, warnings = prompted_body(params, model, context, what="the picture", size=size, n=params.n)
        return Request(model=model, path=model.endpoint.path, body=body, warnings=tuple(warnings), usage=usage)
    text, warnings = prompt_text(params, model, what="the picture")
    negative = params.negative_prompt.strip() or None
    parameters = generation_parameters(params, size=size, n=params.n, negative_prompt=negative)
    body = messages_body(model, context, text, [], parameters, text_first=True)
    exchange = None if model.endpoint.asynchronous else execute
    return Request(
        model=model, path=model.endpoint.path, body=body, warnings=tuple(warnings), exchange=exchange, usage=usage
    )


async def execute(context: ExchangeContext, request: Request) -> Outcome:
    """A picture answered at once (the multimodal endpoint)."""
    await context.progress(f"Generating with {request.model.name}…")
    return await call_for_images(context, request)


TEXT_TO_IMAGE = Capability(
    name=NAME,
    title="Text to image",
    summary=(
        "Images from a text prompt (Wanxiang; qwen-image for text inside the picture): saved files, a preview and "
        "URLs. Costs per image."
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
