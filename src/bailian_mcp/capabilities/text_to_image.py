"""Text-to-image: wan2.2 / wanx2.1 / wanx2.0 and qwen-image, over the async image-synthesis endpoint."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import AsyncTaskCapability, BuildContext, Params, Request, prompted_body
from bailian_mcp.capabilities.images import Seed, check_size, parse_image_results
from bailian_mcp.catalog import ImageModel
from bailian_mcp.errors import InputError

PATH = "services/aigc/text2image/image-synthesis"
MODEL_NAMES = [m.name for m in catalog.models_for("text_to_image")]


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
    model: Annotated[
        str,
        Field(
            description="wan2.2-t2i-flash: fast, good default. wan2.2-t2i-plus: best detail. qwen-image: best for "
            "text inside the picture (posters, couplets, signs), 1 image, fixed sizes. wanx2.1-*/wanx2.0-*: "
            "older, cheaper.",
            json_schema_extra={"enum": MODEL_NAMES},
        ),
    ] = "wan2.2-t2i-flash"
    negative_prompt: Annotated[
        str, Field(max_length=500, description="What to keep out of the picture, up to 500 characters.")
    ] = ""
    size: Annotated[
        str | None,
        Field(
            description="Output size W*H. wan/wanx: each side 512-1440 (default 1024*1024; e.g. 1440*810 for "
            "16:9). qwen-image: one of 1664*928 (default), 1472*1104, 1328*1328, 1104*1472, 928*1664.",
            examples=["1024*1024", "1440*810", "1328*1328"],
        ),
    ] = None
    n: Annotated[int, Field(ge=1, le=4, description="How many images: 1-4 for wan/wanx, only 1 for qwen-image.")] = 1
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
    model = catalog.resolve("text_to_image", params.model)
    assert isinstance(model, ImageModel)
    if context.region not in model.regions:
        raise InputError(
            "model",
            params.model,
            f"{model.name} is not offered in {context.region}; it is in {', '.join(model.regions)}",
        )
    if params.n > model.n_max:
        raise InputError(
            "n",
            params.n,
            f"{model.name} makes at most {model.n_max} image per call; use a wan model for up to 4",
        )
    size = normalize_size(model, params.size)
    body, warnings = prompted_body(params, model, context, what="the picture", size=size, n=params.n)
    return Request(model=model, path=PATH, body=body, warnings=tuple(warnings))


TEXT_TO_IMAGE = AsyncTaskCapability(
    name="text_to_image",
    title="Text to image",
    summary=(
        "Generate images from a text prompt (Wanxiang wan2.2/wanx2.1/wanx2.0, or qwen-image for text inside "
        "the picture). Returns saved files, a preview and URLs. Costs per image."
    ),
    description=(
        "Generate images from a text prompt with Alibaba Bailian (Wanxiang wan2.2/wanx2.1/wanx2.0 or Qwen-Image). "
        "Waits up to wait_seconds, then returns a preview, the saved files and their URLs; if the task is "
        "still running it returns a task_id to pass to get_task. Costs money per image (see cost)."
    ),
    params_model=TextToImageParams,
    build=build,
    parse=parse_image_results,
    file_suffix=".png",
)
