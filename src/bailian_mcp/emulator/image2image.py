"""General image editing, wanx2.1-imageedit (protocol §6): ``POST /api/v1/services/aigc/image2image/image-synthesis``.

Async only, model ``wanx2.1-imageedit``. ``input``: ``function`` (one of `FUNCTIONS`; another
is refused naming it), ``prompt`` (required, truncated to 800 characters), ``base_image_url``
(required) and, for ``description_edit_with_mask`` only, ``mask_image_url`` (required there, of
the base image's resolution). Images are read as in `sources` and checked as in `image_inputs`:
JPG/JPEG/PNG/BMP/TIFF/WEBP, at most 10 MB, each side within [512, 4096] pixels. They are read
at submission, so a bad image is a 400, not a failed task.

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
text-to-image, and the triggers ``[emulator:fail]``, ``[emulator:partial]`` and
``[emulator:inspect]`` in the prompt work as there.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .envelope import ServiceError, invalid_parameter
from .gateway import ServiceCall
from .image_inputs import ImageRules, load_image
from .images import render_function_png
from .params import flag, is_int, number_in, required_text, seed
from .task_api import submit_route
from .tasks import ResultFile, Success, TaskFailure
from .text2image import FAIL_TRIGGER, INSPECT_TRIGGER, PARTIAL_TRIGGER

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

_ALGO_FAILURE = TaskFailure("InternalError.Algo", "Inference error: emulated failure.")
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

    models = (MODEL,)

    async def plan(self, call: ServiceCall) -> EditJob:
        payload, params = call.input, call.parameters
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
            failure = _ALGO_FAILURE
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
