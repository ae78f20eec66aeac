"""Image editing on ``POST /api/v1/services/aigc/image2image/image-synthesis`` (async only).

``wanx2.1-imageedit`` — general image editing (protocol §6). ``input``: ``function`` (one of
`FUNCTIONS`; another is refused naming it), ``prompt`` (required, truncated to 800 characters),
``base_image_url`` (required) and, for ``description_edit_with_mask`` only, ``mask_image_url``
(required there, of the base image's resolution). Images are read as in `sources` and checked as in
`image_inputs`: JPG/JPEG/PNG/BMP/TIFF/WEBP, at most 10 MB, each side within [512, 4096] pixels.
They are read at submission, so a bad image is a 400, not a failed task.

``parameters``: ``n`` 1-4 (default 1), ``seed``, ``watermark``, and per function ``strength``
[0.0, 1.0] (``stylization_all``, ``description_edit``; default 0.5), ``top_scale`` /
``bottom_scale`` / ``left_scale`` / ``right_scale`` [1.0, 2.0] (``expand``; default 1.0),
``upscale_factor`` integer [1, 4] (``super_resolution``; default 1) and ``is_sketch`` boolean
(``doodle``). A function's parameters are ignored (not checked) for other functions, and so is a
``mask_image_url`` given to another function: the emulator's reading of "misplaced parameters
have no effect".

Each result is a PNG (see `images.render_function_png`): of the base image's size, except
``expand`` — each side grows by ``(scale - 1)`` times the base's width or height, the original
staying in place — and ``super_resolution`` — ``upscale_factor`` times the base's size. An
output side never exceeds 4096 pixels (larger results are scaled down to fit, keeping the aspect
ratio). Results are ``[{"url": ...}]`` with ``task_metrics`` and ``usage.image_count``, as in
text-to-image.

``wan2.5-i2i-preview`` — editing with reference images (2026 lineup; the SDK's ``ImageSynthesis``
switches to this endpoint for it). ``input``: ``prompt`` (required, truncated to 2000 characters),
``negative_prompt`` (a string; beyond 500 characters truncated), ``images`` (required: a list of
1-3 references, else ``The images must be a list of 1 to 3 image URLs.``); no ``function``.
Images: JPEG, JPG, PNG, BMP, WEBP, at most 10 MB, each side within [384, 5000] pixels.
``parameters``: ``size`` ``"W*H"`` with total pixels in [768*768, 1280*1280] and aspect ratio in
[1:4, 4:1] (default: about 1280*1280 pixels with the aspect ratio of the last image, sides
multiples of 16); ``n`` 1-4 (default 4); ``prompt_extend`` (default true), ``watermark``, ``seed``.
Results are edits of the inputs (`images.render_edit_png`) as
``{"orig_prompt", "actual_prompt" (with prompt_extend), "url"}``, with ``task_metrics`` and
``usage.image_count``.

Both models: parameters sent as ``null`` count as absent; the triggers ``[emulator:fail]``,
``[emulator:partial]`` and ``[emulator:inspect]`` in the prompt work as in text-to-image.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .envelope import ServiceError, invalid_parameter
from .gateway import ServiceCall
from .image_inputs import ImageRules, load_image
from .images import render_edit_png, render_function_png
from .params import area_size, fit_area, flag, is_int, number_in, optional_text, present, required_text, seed
from .task_api import submit_route
from .task_faults import EMULATED_FAILURE
from .tasks import ResultFile, Success, TaskFailure, TaskJob
from .text2image import FAIL_TRIGGER, INSPECT_TRIGGER, PARTIAL_TRIGGER, extend_prompt

SERVICE = "aigc/image2image/image-synthesis"
MODEL = "wanx2.1-imageedit"
FUNCTIONS = (
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
)
PROMPT_LIMIT = 800
MAX_OUTPUT_SIDE = 4096
INPUT_RULES = ImageRules(("JPEG", "PNG", "BMP", "TIFF", "WEBP"), (512, 4096))
WAN25_MODELS = ("wan2.5-i2i-preview",)
WAN25_PROMPT_LIMIT = 2000
WAN25_INPUT_RULES = ImageRules(("JPEG", "PNG", "BMP", "WEBP"), (384, 5000))
_WAN25_IMAGES = "The images must be a list of 1 to 3 image URLs."

_TIMEOUT_ITEM = {
    "code": "InternalError.Timeout",
    "message": "An internal timeout error has occured during execution, "
    "please try again later or contact service support.",
}

Box = tuple[int, int, int, int]
_SIDES = ("left", "right", "top", "bottom")


@dataclass(frozen=True)
class EditJob:
    """A validated image edit: n pictures of one size, possibly a scripted failure."""

    function: str
    prompt: str
    base: bytes
    mask: bytes | None
    seed: int
    n: int
    size: tuple[int, int]
    placement: Box
    strength: float
    failure: TaskFailure | None = None
    lost: int = 0

    @property
    def metrics_total(self) -> int:
        return self.n

    @property
    def files(self) -> Sequence[ResultFile]:
        if self.failure is not None:
            return ()
        return tuple(
            ResultFile(
                f"{index + 1}.png",
                "image/png",
                functools.partial(
                    render_function_png,
                    self.function,
                    self.base,
                    self.mask,
                    self.prompt,
                    self.seed + index,
                    self.size,
                    self.placement,
                    self.strength,
                ),
            )
            for index in range(self.n - self.lost)
        )

    def success(self, urls: Sequence[str]) -> Success:
        results: list[dict[str, Any]] = [{"url": url} for url in urls]
        results.extend(dict(_TIMEOUT_ITEM) for _ in range(self.lost))
        return Success({"results": results}, {"image_count": len(urls)}, len(urls))


@dataclass(frozen=True)
class ReferenceEditJob:
    """A validated wan2.5-i2i-preview edit: n pictures drawn from the reference images."""

    prompt: str
    actual_prompt: str | None
    previews: tuple[bytes, ...]
    seed: int
    n: int
    size: tuple[int, int]
    failure: TaskFailure | None = None
    lost: int = 0

    @property
    def metrics_total(self) -> int:
        return self.n

    @property
    def files(self) -> Sequence[ResultFile]:
        if self.failure is not None:
            return ()
        width, height = self.size
        return tuple(
            ResultFile(
                f"{index + 1}.png",
                "image/png",
                functools.partial(render_edit_png, self.previews, self.prompt, self.seed + index, width, height),
            )
            for index in range(self.n - self.lost)
        )

    def success(self, urls: Sequence[str]) -> Success:
        results: list[dict[str, Any]] = []
        for url in urls:
            item = {"orig_prompt": self.prompt}
            if self.actual_prompt is not None:
                item["actual_prompt"] = self.actual_prompt
            results.append({**item, "url": url})
        results.extend(dict(_TIMEOUT_ITEM) for _ in range(self.lost))
        return Success({"results": results}, {"image_count": len(urls)}, len(urls))


def output_geometry(function: str, width: int, height: int, params: dict[str, Any]) -> tuple[tuple[int, int], Box]:
    """The output size and where the original sits in it, within `MAX_OUTPUT_SIDE`."""
    if function == "expand":
        left, right, top, bottom = (number_in(params, f"{side}_scale", 1.0, 1.0, 2.0) for side in _SIDES)
        out_w, out_h = round(width * (left + right - 1)), round(height * (top + bottom - 1))
        x, y = round(width * (left - 1)), round(height * (top - 1))
        box = (x, y, min(out_w, x + width), min(out_h, y + height))
    elif function == "super_resolution":
        factor = int(number_in(params, "upscale_factor", 1, 1, 4, integer=True))
        out_w, out_h = width * factor, height * factor
        box = (0, 0, out_w, out_h)
    else:
        out_w, out_h = width, height
        box = (0, 0, width, height)
    shrink = min(1.0, MAX_OUTPUT_SIDE / max(out_w, out_h))
    if shrink < 1.0:
        out_w, out_h = max(1, round(out_w * shrink)), max(1, round(out_h * shrink))
        left, top = round(box[0] * shrink), round(box[1] * shrink)
        right = min(out_w, max(left + 1, round(box[2] * shrink)))
        bottom = min(out_h, max(top + 1, round(box[3] * shrink)))
        box = (left, top, right, bottom)
    return (out_w, out_h), box


class Image2Image:
    """The `TaskKind` of the general image-editing endpoint."""

    models = (MODEL, *WAN25_MODELS)

    async def plan(self, call: ServiceCall) -> TaskJob:
        if call.model in WAN25_MODELS:
            return await self._reference_edit(call)
        return await self._function_edit(call)

    async def _reference_edit(self, call: ServiceCall) -> ReferenceEditJob:
        payload, params = call.input, present(call.parameters)
        prompt = required_text(payload, "prompt")[:WAN25_PROMPT_LIMIT]
        optional_text({**params, **payload}, "negative_prompt")
        refs = payload.get("images")
        if not isinstance(refs, list) or not 1 <= len(refs) <= 3:
            raise invalid_parameter(_WAN25_IMAGES)
        size = params.get("size")
        requested = None if size is None else area_size(size, "", 768, 1280, 4, example="1280*1280")
        n = params.get("n", 4)
        if not is_int(n) or not 1 <= n <= 4:
            raise invalid_parameter("Range of n should be [1, 4]")
        picture_seed = seed(params, prompt)
        extend = flag(params, "prompt_extend", True)
        flag(params, "watermark", False)
        if INSPECT_TRIGGER in prompt:
            raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
        images = [await load_image(call.sources, ref, WAN25_INPUT_RULES, "images") for ref in refs]
        dimensions = requested or fit_area(images[-1].width, images[-1].height, 1280, 4)
        failure, lost = None, 0
        if FAIL_TRIGGER in prompt or (PARTIAL_TRIGGER in prompt and n == 1):
            failure = EMULATED_FAILURE
        elif PARTIAL_TRIGGER in prompt:
            lost = 1
        actual = extend_prompt(prompt) if extend else None
        previews = tuple(image.preview for image in images)
        return ReferenceEditJob(prompt, actual, previews, picture_seed, n, dimensions, failure, lost)

    async def _function_edit(self, call: ServiceCall) -> EditJob:
        payload, params = call.input, present(call.parameters)
        function = payload.get("function")
        if not isinstance(function, str) or not function:
            raise invalid_parameter(
                "Required parameter(function) missing or invalid, please check the request parameters."
            )
        if function not in FUNCTIONS:
            raise invalid_parameter(f"The function {function!r} is not supported, it must be one of {list(FUNCTIONS)}")
        prompt = required_text(payload, "prompt")[:PROMPT_LIMIT]
        for name in ("base_image_url", *(("mask_image_url",) if function == "description_edit_with_mask" else ())):
            if payload.get(name) is None:
                raise invalid_parameter(
                    f"Required parameter({name}) missing or invalid, please check the request parameters."
                )
        n = params.get("n", 1)
        if not is_int(n) or not 1 <= n <= 4:
            raise invalid_parameter("Range of n should be [1, 4]")
        picture_seed = seed(params, prompt)
        flag(params, "watermark", False)
        strength = 0.5
        if function in ("stylization_all", "description_edit"):
            strength = number_in(params, "strength", 0.5, 0.0, 1.0)
        if function == "doodle":
            flag(params, "is_sketch", False)
        if function in ("expand", "super_resolution"):
            output_geometry(function, 1024, 1024, params)  # checks the scales before any download
        if INSPECT_TRIGGER in prompt:
            raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
        base = await load_image(call.sources, payload["base_image_url"], INPUT_RULES, "base_image_url")
        mask = None
        if function == "description_edit_with_mask":
            mask = await load_image(call.sources, payload["mask_image_url"], INPUT_RULES, "mask_image_url")
            if (mask.width, mask.height) != (base.width, base.height):
                raise invalid_parameter(
                    "The resolution of mask_image_url must be the same as base_image_url, "
                    f"got {mask.width}*{mask.height} and {base.width}*{base.height}."
                )
        size, placement = output_geometry(function, base.width, base.height, params)
        failure, lost = None, 0
        if FAIL_TRIGGER in prompt or (PARTIAL_TRIGGER in prompt and n == 1):
            failure = EMULATED_FAILURE
        elif PARTIAL_TRIGGER in prompt:
            lost = 1
        return EditJob(
            function,
            prompt,
            base.preview,
            None if mask is None else mask.preview,
            picture_seed,
            n,
            size,
            placement,
            strength,
            failure,
            lost,
        )


ROUTES = [submit_route(SERVICE, Image2Image())]
