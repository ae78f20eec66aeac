"""Synchronous image models (protocol §5): ``POST /api/v1/services/aigc/multimodal-generation/generation``.

Synchronous (``X-DashScope-Async: enable`` is refused with 403). The body holds exactly one
``user`` message whose ``content`` lists ``{"image": ...}`` items and one ``{"text": ...}`` (see
`image_messages`). The messages-protocol models of the 2026 lineup that also run as async tasks
(wan2.6-t2i, wan2.6-image, qwen-image-3.0) are handed to `image_generation.answer`, the speech models to
`speech_qwen.answer` (Qwen-TTS) and `asr_qwen.answer` (qwen3-asr-flash); this module serves:

* ``qwen-image-edit``: one image + one text; ``n`` must be 1; ``size`` and ``prompt_extend`` are
  ignored; the result has the input's size.
* ``qwen-image-edit-plus`` (and ``-2025-10-30``, ``-2025-12-15``), ``qwen-image-edit-max`` (and
  ``-2026-01-16``): 1-3 images + one text; ``n`` 1-6; ``size`` ``"W*H"`` with each side in
  [512, 2048] (default: the last input's size); ``prompt_extend`` boolean.
* ``qwen-image`` / ``qwen-image-plus`` (and ``-2026-01-09``), the synchronous text-to-image
  alternative of §3: one text only; ``size`` from the five qwen-image sizes (default
  ``1664*928``); ``n`` must be 1.
* ``qwen-image-max`` (and ``-2025-12-30``): as qwen-image-plus, but ``size`` may also be any
  ``"W*H"`` with total pixels in [512*512, 2048*2048] (the five sizes are among them).

Refusals, all 400 ``InvalidParameter``: ``No messages found in input``, ``messages length only
support 1``, ``Role of the message must be user``, ``content length only support 2`` (4 for
-plus/-max, 1 for the text-to-image models), ``lack of image or text``; ``seed`` [0, 2147483647];
``watermark`` boolean. A text over 800 characters is truncated for the text-to-image models; for
qwen-image-edit and -edit-plus it is refused (``The length of text exceeds the limit of 800
characters.``), and so is a ``negative_prompt`` over 500 for the models of the brief (qwen-image-edit,
-edit-plus, qwen-image, -plus); the newer -max models truncate both, as the documentation says.
Parameters sent as ``null`` count as absent. Each image is read as in `sources` and checked as in
`image_inputs`: JPG/JPEG/PNG/BMP/TIFF/WEBP/GIF, at most 10 MB, each side within [384, 3072] pixels.

The answer lists ``n`` PNGs (see `images.render_edit_png`) behind signed result URLs, all in one
choice, and ``usage`` ``{width, height, image_count}``. Triggers in the text: ``[emulator:inspect]``
→ 400 ``DataInspectionFailed``; ``[emulator:fail]`` → 500 ``InternalError.Algo``;
``[emulator:partial]`` → the last of two or more pictures is missing (``image_count`` counts the
others), with one picture it is the 500 above.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from . import asr_qwen, image_generation, speech_qwen
from .envelope import ServiceError, invalid_parameter, json_response, new_request_id
from .gateway import ServiceCall, read_sync_call
from .image_inputs import ImageRules, load_image
from .image_messages import LACK, Content, split_content, user_content
from .images import render_edit_png, render_png
from .params import area_size, flag, free_size, is_int, listed_size, optional_text, present, seed
from .results import output_urls
from .task_api import API_PREFIX, result_root
from .tasks import ResultFile
from .text2image import QWEN_ALSO_ACCEPTED, QWEN_DEFAULT_SIZE, QWEN_SIZES

SERVICE = "aigc/multimodal-generation/generation"

INSPECT_TRIGGER = "[emulator:inspect]"
FAIL_TRIGGER = "[emulator:fail]"
PARTIAL_TRIGGER = "[emulator:partial]"

TEXT_LIMIT = 800
NEGATIVE_LIMIT = 500
INPUT_RULES = ImageRules(("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"), (384, 3072))
SIZE_RANGE = (512, 2048)


@dataclass(frozen=True)
class _Rules:
    max_images: int
    """0 for the text-to-image models."""
    max_n: int
    n_error: str
    sized: bool = False
    """Whether ``size`` and ``prompt_extend`` apply."""
    size_area: tuple[int, int] | None = None
    """Text-to-image: besides the listed sizes, any ``W*H`` with total pixels in [low*low, high*high]."""
    truncates: bool = False
    """Whether an over-long text or negative prompt is truncated (the newer models) or refused."""


_ONE_IMAGE = "num_images_per_prompt must be 1."
_EDIT_PLUS = _Rules(3, 6, "Range of n should be [1, 6]", sized=True)
_EDIT_MAX = _Rules(3, 6, "Range of n should be [1, 6]", sized=True, truncates=True)
_QWEN_IMAGE = _Rules(0, 1, _ONE_IMAGE)
_QWEN_IMAGE_MAX = _Rules(0, 1, _ONE_IMAGE, size_area=(512, 2048), truncates=True)
MODELS: Mapping[str, _Rules] = {
    "qwen-image-edit": _Rules(1, 1, _ONE_IMAGE),
    "qwen-image-edit-plus": _EDIT_PLUS,
    "qwen-image-edit-plus-2025-10-30": _EDIT_PLUS,
    "qwen-image-edit-plus-2025-12-15": _EDIT_PLUS,
    "qwen-image-edit-max": _EDIT_MAX,
    "qwen-image-edit-max-2026-01-16": _EDIT_MAX,
    "qwen-image": _QWEN_IMAGE,
    "qwen-image-plus": _QWEN_IMAGE,
    "qwen-image-plus-2026-01-09": _QWEN_IMAGE,
    "qwen-image-max": _QWEN_IMAGE_MAX,
    "qwen-image-max-2025-12-30": _QWEN_IMAGE_MAX,
}


def _content(call: ServiceCall, rules: _Rules) -> Content:
    items = user_content(call.input)
    if len(items) > rules.max_images + 1:
        raise invalid_parameter(f"content length only support {rules.max_images + 1}")
    content = split_content(items)
    if rules.max_images and not content.images:
        raise invalid_parameter(LACK)
    return content


def _limited(text: str, limit: int, name: str) -> str:
    if len(text) > limit:
        raise invalid_parameter(f"The length of {name} exceeds the limit of {limit} characters.")
    return text


def _negative_prompt(params: Mapping[str, Any], truncates: bool) -> None:
    negative = optional_text(params, "negative_prompt")
    if negative is not None and not truncates:
        _limited(negative, NEGATIVE_LIMIT, "negative_prompt")


def _text_to_image_size(rules: _Rules, value: object) -> tuple[int, int]:
    if rules.size_area is not None and not (isinstance(value, str) and value in QWEN_SIZES + QWEN_ALSO_ACCEPTED):
        return area_size(value, QWEN_DEFAULT_SIZE, *rules.size_area)
    return listed_size(value, QWEN_DEFAULT_SIZE, QWEN_SIZES, QWEN_ALSO_ACCEPTED)


async def edit(request: Request) -> Response:
    state, call = await read_sync_call(request)
    if call.model in image_generation.MODELS:
        return await image_generation.answer(request, call)
    if call.model in speech_qwen.MODELS:
        return await speech_qwen.answer(request, call)
    if call.model in asr_qwen.MODELS:
        return await asr_qwen.answer(request, call)
    rules = MODELS.get(call.model)
    if rules is None:
        raise invalid_parameter("Model not exist.")
    content = _content(call, rules)
    params = present(call.parameters)
    _negative_prompt(params, rules.truncates)
    n = params.get("n", 1)
    if not is_int(n) or not 1 <= n <= rules.max_n:
        raise invalid_parameter(rules.n_error)
    picture_seed = seed(params, content.text)
    flag(params, "watermark", False)
    if rules.sized or not rules.max_images:
        flag(params, "prompt_extend", True)
    requested = None
    if not rules.max_images:
        text = content.text[:TEXT_LIMIT]
        width, height = _text_to_image_size(rules, params.get("size"))
    else:
        text = content.text[:TEXT_LIMIT] if rules.truncates else _limited(content.text, TEXT_LIMIT, "text")
        if rules.sized and params.get("size") is not None:
            requested = free_size(params["size"], "", *SIZE_RANGE)
    if INSPECT_TRIGGER in text:
        raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    if rules.max_images:
        images = [await load_image(call.sources, ref, INPUT_RULES, "image") for ref in content.images]
        width, height = requested or (images[-1].width, images[-1].height)
        previews = tuple(image.preview for image in images)
        render = functools.partial(render_edit_png, previews, text)
    else:
        render = functools.partial(render_png, text)
    if FAIL_TRIGGER in text or (PARTIAL_TRIGGER in text and n == 1):
        raise ServiceError(500, "InternalError.Algo", "Inference error: emulated failure.")
    kept = n - 1 if PARTIAL_TRIGGER in text else n
    files = [
        ResultFile(f"{index + 1}.png", "image/png", functools.partial(render, picture_seed + index, width, height))
        for index in range(kept)
    ]
    output = state.outputs.add(files, state.now())
    if state.faults.outcome("sync") == "expired_urls":
        state.faults.expire_urls(output.output_id)
    urls = output_urls(state, output, result_root(request, state))
    message = {"role": "assistant", "content": [{"image": url} for url in urls]}
    return json_response(
        {
            "output": {"choices": [{"finish_reason": "stop", "message": message}]},
            "usage": {"width": width, "height": height, "image_count": kept},
            "request_id": new_request_id(),
        }
    )


ROUTES = [Route(f"{API_PREFIX}/services/{SERVICE}", edit, methods=["POST"])]
