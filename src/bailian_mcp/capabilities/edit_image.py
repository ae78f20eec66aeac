"""Image editing with qwen-image-edit: images plus an instruction, over the synchronous multimodal endpoint."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field, field_validator

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, ExchangeContext, Outcome, Params, Request
from bailian_mcp.capabilities.fields import (
    FileInput,
    Lean,
    Seed,
    largest,
    list_from_text,
    model_field,
    models_where,
    per_model,
)
from bailian_mcp.capabilities.images import (
    call_for_images,
    check_size,
    long_prompt_warnings,
    messages_body,
    parse_image_results,
)
from bailian_mcp.catalog import IMAGE2IMAGE, MULTIMODAL_GENERATION, ImageEditModel, ModelSpec
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import image_input

NAME = "edit_image"
PATH = MULTIMODAL_GENERATION.path


def _edit_model(model: ModelSpec) -> ImageEditModel:
    assert isinstance(model, ImageEditModel)
    return model


MAX_IMAGES = largest(NAME, lambda m: _edit_model(m).max_images)
SIZED_MODELS = models_where(NAME, lambda m: _edit_model(m).sizes is not None)


def _sizes(model: ModelSpec) -> str:
    sizes = _edit_model(model).sizes
    return sizes.describe() if sizes else "none"


class EditImageParams(Params):
    image: Annotated[
        list[str],
        Field(
            min_length=1,
            max_length=MAX_IMAGES,
            description="The image(s) to edit: public http(s) URLs, data:image/...;base64 URIs, or absolute paths of "
            "local files (uploaded for you). How many: "
            + per_model(NAME, lambda m: _edit_model(m).max_images)
            + ". Each: "
            + per_model(NAME, lambda m: _edit_model(m).input_images.describe())
            + ".",
        ),
        FileInput(),
        Lean("Image(s) to edit: URL, data URI or local path."),
    ]
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=largest(NAME, lambda m: _edit_model(m).prompt_max),
            description="The edit instruction (longer ones are cut at the model's limit: "
            + per_model(NAME, lambda m: _edit_model(m).prompt_max)
            + " characters): e.g. 'replace the text on the sign with "
            "\u201c开业大吉\u201d', 'remove the person on the left', 'make it a watercolour'.",
        ),
        Lean("The edit instruction."),
    ]
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    negative_prompt: Annotated[str, Field(max_length=500, description="What to avoid, up to 500 characters.")] = ""
    watermark: Annotated[bool, Field(description="Add the 'Qwen-Image' watermark."), Lean("")] = False
    n: Annotated[
        int,
        Field(
            ge=1,
            le=largest(NAME, lambda m: _edit_model(m).n_max),
            description="Number of results, at most " + per_model(NAME, lambda m: _edit_model(m).n_max) + ".",
        ),
        Lean("How many results."),
    ] = 1
    size: Annotated[
        str | None,
        Field(
            description="Output size: "
            + per_model(NAME, _sizes)
            + ". Default: about the model's standard pixel count in the last input image's aspect ratio."
        ),
        Lean("Output W*H."),
    ] = None
    prompt_extend: Annotated[
        bool | None,
        Field(description=f"{SIZED_MODELS} only: let the service refine the instruction."),
        Lean("Let the service refine the instruction."),
    ] = None
    seed: Seed = None

    _images_as_list = field_validator("image", mode="before")(
        list_from_text(otherwise="item", blank=[], example='["https://example.com/a.png"]')
    )


def build(params: EditImageParams, context: BuildContext) -> Request:
    """The request for the model's endpoint: images and the instruction as one message (answered at once on the
    multimodal endpoint, or a task on image-generation), or `input.images` and a prompt on image2image (a task)."""
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
    if model.sizes is None:
        for name in ("size", "prompt_extend"):
            if getattr(params, name) is not None:
                raise InputError(name, getattr(params, name), f"only {SIZED_MODELS} accept {name}")
    prompt = params.prompt.strip()
    if not prompt:
        raise InputError("prompt", params.prompt, "describe the edit in at least one non-blank character")
    warnings = long_prompt_warnings(prompt, model.name, model.prompt_max, noun="instruction")
    images = [
        image_input(
            value, model.input_images, context.input_roots, param=_image_param(position, params.image)
        ).reference
        for position, value in enumerate(params.image)
    ]
    negative = params.negative_prompt.strip() or None
    size = check_size(model.sizes, params.size, model=model.name) if model.sizes and params.size is not None else None
    parameters: dict[str, Any] = {
        name: value
        for name, value in (
            ("watermark", params.watermark),
            ("n", params.n if model.n_max > 1 else None),
            ("size", size),
            ("prompt_extend", params.prompt_extend),
            ("seed", params.seed),
        )
        if value is not None
    }
    usage = {"image_count": params.n if model.n_max > 1 else 1}
    if model.endpoint == IMAGE2IMAGE:
        body_input: dict[str, Any] = {"prompt": prompt, "images": images}
        if negative:
            body_input["negative_prompt"] = negative
        body = {"model": model.wire_name(context.region), "input": body_input, "parameters": parameters}
        return Request(model=model, path=model.endpoint.path, body=body, warnings=tuple(warnings), usage=usage)
    if negative:
        parameters["negative_prompt"] = negative
    body = messages_body(model, context, prompt, images, parameters, text_first=model.text_first)
    exchange = None if model.endpoint.asynchronous else execute
    return Request(
        model=model, path=model.endpoint.path, body=body, warnings=tuple(warnings), exchange=exchange, usage=usage
    )


async def execute(context: ExchangeContext, request: Request) -> Outcome:
    """An edit answered at once (the multimodal endpoint)."""
    await context.progress(f"Editing with {request.model.name}…")
    return await call_for_images(context, request)


def _image_param(position: int, images: list[str]) -> str:
    return "image" if len(images) == 1 else f"image[{position}]"


EDIT_IMAGE = Capability(
    name=NAME,
    title="Edit image (Qwen)",
    summary=(
        "Edit images by instruction (Qwen-Image-Edit, Wan): text in the picture, objects, pose, background, style; "
        "several input images on some models. Costs per image."
    ),
    description=(
        "Edit an image with an instruction using Qwen-Image-Edit: change or add text in the picture (Chinese or "
        "English), add/remove/move objects, change a pose, replace the background, restyle, enhance detail. Give "
        "1 image (or up to 3 with qwen-image-edit-plus) as URL, data URI or local path. Returns the edited image "
        "saved locally with a preview. Costs money per result image."
    ),
    params_model=EditImageParams,
    build=build,
    parse=parse_image_results,
    file_suffix=".png",
    command="edit-image",
    group="image",
    pacing="image",
)
