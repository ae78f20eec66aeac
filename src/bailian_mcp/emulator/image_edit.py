"""Image editing with qwen-image-edit (protocol §5): ``POST /api/v1/services/aigc/multimodal-generation/generation``.

Synchronous (``X-DashScope-Async: enable`` is refused with 403). The body holds exactly one
``user`` message whose ``content`` lists ``{"image": ...}`` items and one ``{"text": ...}``:

* ``qwen-image-edit``: one image + one text; ``n`` must be 1; ``size`` and ``prompt_extend`` are
  ignored; the result has the input's size.
* ``qwen-image-edit-plus``: 1-3 images + one text; ``n`` 1-6; ``size`` ``"W*H"`` with each side in
  [512, 2048] (default: the last input's size); ``prompt_extend`` boolean.
* ``qwen-image`` / ``qwen-image-plus`` (the synchronous text-to-image alternative of §3): one
  text only; ``size`` from the five qwen-image sizes (default ``1664*928``); ``n`` must be 1.

Refusals, all 400 ``InvalidParameter``: ``No messages found in input``, ``messages length only
support 1``, ``Role of the message must be user``, ``content length only support 2`` (4 for -plus,
1 for qwen-image), ``lack of image or text``; a text over 800 characters (truncated for
qwen-image) or a ``negative_prompt`` over 500 is refused with ``… exceeds the limit of N
characters``; ``seed`` [0, 2147483647]; ``watermark`` boolean. Each image is read as in
`sources` and checked as in `image_inputs`: JPG/JPEG/PNG/BMP/TIFF/WEBP/GIF, at most 10 MB, each
side within [384, 3072] pixels.

The answer lists ``n`` PNGs (see `images.render_edit_png`) behind signed result URLs and
``usage`` ``{width, height, image_count}``. Triggers in the text: ``[emulator:inspect]`` → 400
``DataInspectionFailed``; ``[emulator:fail]`` → 500 ``InternalError.Algo``.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .envelope import ServiceError, invalid_parameter, json_response, new_request_id
from .gateway import ServiceCall, authenticate, read_service_call, require_sync
from .image_inputs import ImageRules, load_image
from .images import render_edit_png, render_png
from .params import flag, free_size, is_int, listed_size, seed
from .results import output_urls
from .state import emulator_state
from .task_api import API_PREFIX, result_root
from .tasks import ResultFile
from .text2image import MODELS as T2I_MODELS

SERVICE = "aigc/multimodal-generation/generation"

INSPECT_TRIGGER = "[emulator:inspect]"
FAIL_TRIGGER = "[emulator:fail]"

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


_ONE_IMAGE = "num_images_per_prompt must be 1."
MODELS: Mapping[str, _Rules] = {
    "qwen-image-edit": _Rules(1, 1, _ONE_IMAGE),
    "qwen-image-edit-plus": _Rules(3, 6, "Range of n should be [1, 6]", sized=True),
    "qwen-image": _Rules(0, 1, _ONE_IMAGE),
    "qwen-image-plus": _Rules(0, 1, _ONE_IMAGE),
}


@dataclass(frozen=True)
class _Content:
    text: str
    images: list[object]


def _content(call: ServiceCall, rules: _Rules) -> _Content:
    messages = call.input.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_parameter("No messages found in input")
    if len(messages) > 1:
        raise invalid_parameter("messages length only support 1")
    message = messages[0]
    if not isinstance(message, dict) or message.get("role") != "user":
        raise invalid_parameter("Role of the message must be user")
    items = message.get("content")
    if not isinstance(items, list) or not all(isinstance(item, dict) for item in items):
        raise invalid_parameter("lack of image or text")
    if len(items) > rules.max_images + 1:
        raise invalid_parameter(f"content length only support {rules.max_images + 1}")
    texts = [item["text"] for item in items if "text" in item]
    images = [item["image"] for item in items if "image" in item]
    lacking = rules.max_images and not images
    if len(texts) != 1 or len(texts) + len(images) != len(items) or lacking:
        raise invalid_parameter("lack of image or text")
    text = texts[0]
    if not isinstance(text, str) or not text.strip():
        raise invalid_parameter("lack of image or text")
    return _Content(text, images)


def _limited(text: str, limit: int, name: str) -> str:
    if len(text) > limit:
        raise invalid_parameter(f"The length of {name} exceeds the limit of {limit} characters.")
    return text


def _negative_prompt(params: Mapping[str, Any]) -> None:
    negative = params.get("negative_prompt")
    if negative is not None:
        if not isinstance(negative, str):
            raise invalid_parameter(f"Parameter negative_prompt must be a string, got {negative!r}")
        _limited(negative, NEGATIVE_LIMIT, "negative_prompt")


async def edit(request: Request) -> Response:
    state = emulator_state(request)
    authenticate(request, state.config)
    require_sync(request)
    call = await read_service_call(request)
    rules = MODELS.get(call.model)
    if rules is None:
        raise invalid_parameter("Model not exist.")
    content = _content(call, rules)
    params = call.parameters
    _negative_prompt(params)
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
        qwen = T2I_MODELS[call.model]
        width, height = listed_size(params.get("size"), qwen.default_size, qwen.sizes, qwen.also_accepted)
    else:
        text = _limited(content.text, TEXT_LIMIT, "text")
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
    if FAIL_TRIGGER in text:
        raise ServiceError(500, "InternalError.Algo", "Inference error: emulated failure.")
    files = [
        ResultFile(f"{index + 1}.png", "image/png", functools.partial(render, picture_seed + index, width, height))
        for index in range(n)
    ]
    output = state.outputs.add(files, state.now())
    if state.faults.outcome("sync") == "expired_urls":
        state.faults.expire_urls(output.output_id)
    urls = output_urls(state, output, result_root(request, state))
    message = {"role": "assistant", "content": [{"image": url} for url in urls]}
    return json_response(
        {
            "output": {"choices": [{"finish_reason": "stop", "message": message}]},
            "usage": {"width": width, "height": height, "image_count": n},
            "request_id": new_request_id(),
        }
    )


ROUTES = [Route(f"{API_PREFIX}/services/{SERVICE}", edit, methods=["POST"])]
