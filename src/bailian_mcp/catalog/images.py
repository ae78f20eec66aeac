"""Image models: text-to-image and image editing."""

from __future__ import annotations

from bailian_mcp.catalog.spec import (
    _BEIJING,
    _WAN_RATE,
    INTERNATIONAL,
    FixedSizes,
    ImageEditModel,
    ImageModel,
    ModelSpec,
    WanxEditModel,
    per_image,
)

_QWEN_IMAGE_SIZES = FixedSizes(
    sizes=("1664*928", "1472*1104", "1328*1328", "1104*1472", "928*1664"),
    spellings={"1472*1140": "1472*1104", "1140*1472": "1104*1472"},  # the 2025 spellings the brief uses
)

MODELS: tuple[ModelSpec, ...] = (
    ImageModel(
        name="wan2.2-t2i-flash",
        capability="text_to_image",
        summary="Wanxiang 2.2 flash: fast, good default.",
        default=True,
        price=per_image(0.14),
        rate=_WAN_RATE,
        prompt_max=500,
        typical_seconds=8,
    ),
    ImageModel(
        name="wan2.2-t2i-plus",
        capability="text_to_image",
        summary="Wanxiang 2.2 plus: best detail, slower.",
        price=per_image(0.20),
        rate=_WAN_RATE,
        prompt_max=500,
        typical_seconds=15,
    ),
    ImageModel(
        name="wanx2.1-t2i-turbo",
        capability="text_to_image",
        summary="Wanxiang 2.1 turbo: older, fast.",
        price=per_image(0.14),
        rate=_WAN_RATE,
        wire_names={r: "wan2.1-t2i-turbo" for r in INTERNATIONAL},
        aliases=("wan2.1-t2i-turbo",),
        prompt_max=500,
        typical_seconds=10,
    ),
    ImageModel(
        name="wanx2.1-t2i-plus",
        capability="text_to_image",
        summary="Wanxiang 2.1 plus: older, detailed.",
        price=per_image(0.20),
        rate=_WAN_RATE,
        wire_names={r: "wan2.1-t2i-plus" for r in INTERNATIONAL},
        aliases=("wan2.1-t2i-plus",),
        prompt_max=500,
        typical_seconds=15,
    ),
    ImageModel(
        name="wanx2.0-t2i-turbo",
        capability="text_to_image",
        summary="Wanxiang 2.0 turbo: oldest and cheapest.",
        price=per_image(0.04),
        rate=_WAN_RATE,
        regions=("cn-beijing",),
        prompt_max=800,
        typical_seconds=10,
    ),
    ImageModel(
        name="qwen-image",
        capability="text_to_image",
        summary="Qwen-Image: best for text inside the picture (posters, couplets, signs); fixed sizes, 1 image.",
        price=per_image(0.25),
        rate=_WAN_RATE,
        prompt_max=800,
        sizes=_QWEN_IMAGE_SIZES,
        default_size="1664*928",
        n_max=1,
        typical_seconds=20,
    ),
    ImageEditModel(
        name="qwen-image-edit",
        capability="edit_image",
        summary="Qwen-Image-Edit: one image, one result (text in the picture, objects, pose, style).",
        default=True,
        price=per_image(0.3),
        rate=_WAN_RATE,
        typical_seconds=20,
    ),
    ImageEditModel(
        name="qwen-image-edit-plus",
        capability="edit_image",
        summary="Qwen-Image-Edit plus: 1-3 input images (combine them), 1-6 results, choice of output size.",
        price=per_image(0.2),
        rate=_WAN_RATE,
        typical_seconds=25,
        max_images=3,
        n_max=6,
        custom_size=True,
    ),
    WanxEditModel(
        name="wanx2.1-imageedit",
        capability="wanx_edit_image",
        summary="Wanxiang general image editing: stylize, instruct, inpaint, remove text, expand, upscale, "
        "colorize, sketch-to-image, cartoon reference.",
        default=True,
        price=per_image(0.14),
        rate=_WAN_RATE,
        regions=_BEIJING,
        typical_seconds=10,
    ),
)
