"""Image editing with qwen-image-edit: images plus an instruction, over the synchronous multimodal endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, ExchangeContext, Outcome, Params, Request
from bailian_mcp.capabilities.fields import (
    FileInput,
    Seed,
    largest,
    list_from_text,
    model_field,
    models_where,
    per_model,
)
from bailian_mcp.capabilities.images import check_size, image_url_outputs
from bailian_mcp.catalog import ImageEditModel, ModelSpec, SideRange
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import image_input

NAME = "edit_image"
PATH = "services/aigc/multimodal-generation/generation"
OUTPUT_SIZES = SideRange(512, 2048)


def _edit_model(model: ModelSpec) -> ImageEditModel:
    assert isinstance(model, ImageEditModel)
    return model


MAX_IMAGES = largest(NAME, lambda m: _edit_model(m).max_images)
CUSTOM_SIZE_MODELS = models_where(NAME, lambda m: _edit_model(m).custom_size)


class EditImageParams(Params):
    image: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=MAX_IMAGES,
            description="The image(s) to edit: public http(s) URLs, data:image/...;base64 URIs, or absolute paths of "
            "local files (uploaded for you). JPG/PNG/BMP/TIFF/WEBP, 384-3072 px per side, up to 10 MB. How many: "
            + per_model(NAME, lambda m: _edit_model(m).max_images)
            + ".",
        ),
        FileInput(),
    ]
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=800,
            description="The edit instruction, up to 800 characters: e.g. 'replace the text on the sign with "
            "\u201c开业大吉\u201d', 'remove the person on the left', 'make it a watercolour'.",
        ),
    ]
    model: Annotated[str, model_field(NAME)] = catalog.default_model(NAME)
    negative_prompt: Annotated[str, Field(max_length=500, description="What to avoid, up to 500 characters.")] = ""
    watermark: Annotated[bool, Field(description="Add the 'Qwen-Image' watermark.")] = False
    n: Annotated[
        int,
        Field(
            ge=1,
            le=largest(NAME, lambda m: _edit_model(m).n_max),
            description="Number of results, at most " + per_model(NAME, lambda m: _edit_model(m).n_max) + ".",
        ),
    ] = 1
    size: Annotated[
        str | None,
        Field(
            description=f"{CUSTOM_SIZE_MODELS} only: output W*H, each side {OUTPUT_SIZES.min_side}-"
            f"{OUTPUT_SIZES.max_side}. Default: about 1024*1024 in the last input image's aspect ratio."
        ),
    ] = None
    prompt_extend: Annotated[
        bool | None, Field(description=f"{CUSTOM_SIZE_MODELS} only: let the service refine the instruction.")
    ] = None
    seed: Seed = None

    _images_as_list = field_validator("image", mode="before")(
        list_from_text(otherwise="item", blank=[], example='["https://example.com/a.png"]')
    )


def build(params: EditImageParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, ImageEditModel)
    if len(params.image) > model.max_images:
        more = models_where(NAME, lambda m: _edit_model(m).max_images >= len(params.image))
        raise InputError(
            "image",
            params.image,
            f"{model.name} edits exactly {model.max_images} image; use {more} to combine up to {MAX_IMAGES}",
        )
    if params.n > model.n_max:
        more = models_where(NAME, lambda m: _edit_model(m).n_max >= params.n)
        most = largest(NAME, lambda m: _edit_model(m).n_max)
        raise InputError("n", params.n, f"{model.name} makes {model.n_max} result per call; {more} makes up to {most}")
    if not model.custom_size:
        for name in ("size", "prompt_extend"):
            if getattr(params, name) is not None:
                raise InputError(name, getattr(params, name), f"only {CUSTOM_SIZE_MODELS} accepts {name}")
    prompt = params.prompt.strip()
    if not prompt:
        raise InputError("prompt", params.prompt, "describe the edit in at least one non-blank character")
    content: list[dict[str, Any]] = []
    for position, value in enumerate(params.image):
        param = "image" if len(params.image) == 1 else f"image[{position}]"
        content.append({"image": image_input(value, model.input_images, context.input_roots, param=param).reference})
    content.append({"text": prompt})
    parameters: dict[str, Any] = {"watermark": params.watermark}
    if params.negative_prompt.strip():
        parameters["negative_prompt"] = params.negative_prompt.strip()
    if model.n_max > 1:
        parameters["n"] = params.n
    if params.size is not None:
        parameters["size"] = check_size(OUTPUT_SIZES, params.size, model=model.name)
    if params.prompt_extend is not None:
        parameters["prompt_extend"] = params.prompt_extend
    if params.seed is not None:
        parameters["seed"] = params.seed
    body = {
        "model": model.wire_name(context.region),
        "input": {"messages": [{"role": "user", "content": content}]},
        "parameters": parameters,
    }
    return Request(model=model, path=PATH, body=body, exchange=execute)


async def execute(context: ExchangeContext, request: Request) -> Outcome:
    await context.progress(f"Editing with {request.model.name}…")
    reply = await context.client.call(
        request.path, request.body, headers=request.headers, bucket=request.model.rate_bucket
    )
    choices = (reply.get("output") or {}).get("choices") or [{}]
    content = (choices[0].get("message") or {}).get("content") or []
    urls = [str(item["image"]) for item in content if isinstance(item, dict) and item.get("image")]
    usage = dict(reply.get("usage") or {})
    usage.setdefault("image_count", len(urls))
    return Outcome(outputs=image_url_outputs(urls), usage=usage, finish_reason=choices[0].get("finish_reason"))


EDIT_IMAGE = Capability(
    name=NAME,
    title="Edit image (Qwen)",
    summary=(
        "Edit an image by instruction with Qwen-Image-Edit: change text in the picture, add/remove objects, "
        "pose, background, style. 1 image (up to 3 with qwen-image-edit-plus) as URL, data URI or local path."
        " Costs per image."
    ),
    description=(
        "Edit an image with an instruction using Qwen-Image-Edit: change or add text in the picture (Chinese or "
        "English), add/remove/move objects, change a pose, replace the background, restyle, enhance detail. Give "
        "1 image (or up to 3 with qwen-image-edit-plus) as URL, data URI or local path. Returns the edited image "
        "saved locally with a preview. Costs money per result image."
    ),
    params_model=EditImageParams,
    build=build,
    file_suffix=".png",
    command="edit-image",
    group="image",
    pacing="image",
)
