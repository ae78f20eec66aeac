"""Wanxiang general image editing (wanx2.1-imageedit): ten functions over the async image2image endpoint."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, Params, Request
from bailian_mcp.capabilities.fields import FileInput, Lean, Seed, largest, model_field
from bailian_mcp.capabilities.images import parse_image_results
from bailian_mcp.catalog import IMAGE2IMAGE, WanxEditModel
from bailian_mcp.errors import InputError
from bailian_mcp.inputs import image_input, image_size

NAME = "wanx_edit_image"
PATH = IMAGE2IMAGE.path

Function = Literal[
    "stylization_all",
    "stylization_local",
    "description_edit",
    "description_edit_with_mask",
    "remove_watermark",
    "expand",
    "super_resolution",
    "colorization",
    "doodle",
    "control_cartoon_feature",
]

FUNCTION_GUIDE = (
    "stylization_all: restyle the whole image (e.g. 'French picture-book style', 'Chinese ink painting'); "
    "stylization_local: restyle one thing in it with a material (wood, metal, glass, ...); "
    "description_edit: a simple edit by instruction, no region ('make her hair red'); "
    "description_edit_with_mask: repaint exactly the white area of mask_image_url ('a ceramic rabbit here'); "
    "remove_watermark: remove text, logos and watermarks; "
    "expand: outpaint beyond the borders (top/bottom/left/right_scale); "
    "super_resolution: sharpen or enlarge (upscale_factor); "
    "colorization: colour a black-and-white photo; "
    "doodle: turn a sketch or line drawing into a picture (is_sketch); "
    "control_cartoon_feature: new scene with a cartoon character from the image."
)

# Each function's own parameters: accepted only with that function.
FUNCTION_PARAMETERS: dict[str, tuple[str, ...]] = {
    "strength": ("stylization_all", "description_edit"),
    "top_scale": ("expand",),
    "bottom_scale": ("expand",),
    "left_scale": ("expand",),
    "right_scale": ("expand",),
    "upscale_factor": ("super_resolution",),
    "is_sketch": ("doodle",),
}


def _most_results(model: catalog.ModelSpec) -> int:
    assert isinstance(model, WanxEditModel)
    return model.n_max


Scale = Annotated[
    float | None,
    Field(ge=1.0, le=2.0, description="expand only: 1.0-2.0 times the side (default 1.0)."),
    Lean("expand only."),
]


class WanxEditImageParams(Params):
    function: Annotated[Function, Field(description="Which edit. " + FUNCTION_GUIDE), Lean("Which edit.")]
    prompt: Annotated[
        str,
        Field(min_length=1, max_length=800, description="What the result should look like, up to 800 chars."),
        Lean("What the result should look like."),
    ]
    base_image_url: Annotated[
        str,
        Field(
            min_length=1,
            description="The image to edit: http(s) URL, data:image/...;base64 URI, or absolute local path "
            "(uploaded for you). JPG/PNG/BMP/TIFF/WEBP, 512-4096 px per side, up to 10 MB.",
        ),
        FileInput(),
        Lean("Image to edit: URL, data URI or local path."),
    ]
    mask_image_url: Annotated[
        str | None,
        Field(
            description="description_edit_with_mask only (and required there): black-and-white mask of the same "
            "resolution as the base image; white = repaint, black = keep."
        ),
        FileInput(),
        Lean("description_edit_with_mask: the mask."),
    ] = None
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    n: Annotated[
        int,
        Field(
            ge=1,
            le=largest(NAME, lambda m: m.n_max if isinstance(m, WanxEditModel) else 1),
            description="Number of results.",
        ),
        Lean(""),
    ] = 1
    seed: Seed = None
    watermark: Annotated[bool, Field(description="Add the 'AI生成' watermark."), Lean("")] = False
    strength: Annotated[
        float | None,
        Field(
            ge=0.0,
            le=1.0,
            description="stylization_all, description_edit: how far to move from the original, 0-1 (default 0.5).",
        ),
        Lean("How far from the original, 0-1."),
    ] = None
    top_scale: Scale = None
    bottom_scale: Scale = None
    left_scale: Scale = None
    right_scale: Scale = None
    upscale_factor: Annotated[
        int | None,
        Field(ge=1, le=4, description="super_resolution only: 1 (sharpen only) to 4 times larger."),
        Lean("super_resolution: times larger."),
    ] = None
    is_sketch: Annotated[
        bool | None,
        Field(description="doodle only: true if the input already is a line drawing (else lines are extracted)."),
        Lean("doodle: the input is a line drawing."),
    ] = None


def build(params: WanxEditImageParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, WanxEditModel)
    if params.n > model.n_max:
        raise InputError("n", params.n, f"{model.name} makes at most {model.n_max} results per call")
    for name, functions in FUNCTION_PARAMETERS.items():
        value = getattr(params, name)
        if value is not None and params.function not in functions:
            raise InputError(
                name, value, f"{name} only applies to function {' or '.join(functions)}, not {params.function}"
            )
    prompt = params.prompt.strip()
    if not prompt:
        raise InputError("prompt", params.prompt, "describe the result in at least one non-blank character")
    base = image_input(params.base_image_url, model.input_images, context.input_roots, param="base_image_url")
    body_input: dict[str, Any] = {"function": params.function, "prompt": prompt, "base_image_url": base.reference}
    if params.function == "description_edit_with_mask":
        if not params.mask_image_url:
            raise InputError(
                "mask_image_url",
                params.mask_image_url,
                "description_edit_with_mask needs a black-and-white mask of the base image's size",
            )
        mask = image_input(params.mask_image_url, model.input_images, context.input_roots, param="mask_image_url")
        if base.data is not None and mask.data is not None and image_size(base.data) != image_size(mask.data):
            (bw, bh), (mw, mh) = image_size(base.data), image_size(mask.data)
            raise InputError(
                "mask_image_url",
                params.mask_image_url,
                f"the mask is {mw}×{mh} but the base image is {bw}×{bh}; they must match",
            )
        body_input["mask_image_url"] = mask.reference
    elif params.mask_image_url:
        raise InputError(
            "mask_image_url", params.mask_image_url, "a mask only applies to function description_edit_with_mask"
        )
    parameters: dict[str, Any] = {"n": params.n, "watermark": params.watermark}
    if params.seed is not None:
        parameters["seed"] = params.seed
    for name in FUNCTION_PARAMETERS:
        if (value := getattr(params, name)) is not None:
            parameters[name] = value
    body = {"model": model.wire_name(context.region), "input": body_input, "parameters": parameters}
    return Request(model=model, path=PATH, body=body, usage={"image_count": params.n})


WANX_EDIT_IMAGE = Capability(
    name=NAME,
    title="Edit image (Wanxiang, 10 functions)",
    summary=(
        "Wanxiang's ten image edits: stylize (all or part), instruct, masked inpaint, remove text, expand, "
        "super-resolve, colorize, sketch to image, cartoon reference. Costs per image."
    ),
    description=(
        "Edit an image with Wanxiang wanx2.1-imageedit by choosing a function: " + FUNCTION_GUIDE + " Give the image "
        "as URL, data URI or local path. Costs money per result image."
    ),
    params_model=WanxEditImageParams,
    build=build,
    parse=parse_image_results,
    file_suffix=".png",
    command="wanx-edit",
    group="image",
    pacing="image",
)
