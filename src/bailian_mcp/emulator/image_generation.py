"""The messages-protocol image models of the 2026 lineup: wan2.6-t2i, wan2.6-image, qwen-image-3.0.

Two endpoints, one request body (``input.messages`` with one ``user`` message, see `image_messages`):

* ``POST /api/v1/services/aigc/image-generation/generation`` — async only (``X-DashScope-Async:
  enable``, else 403), answered through the task protocol (`task_api`); the SUCCEEDED task carries
  ``output.choices`` (and, for the wan models, ``finished: true``) beside the timestamps, and no
  ``task_metrics``.
* ``POST /api/v1/services/aigc/multimodal-generation/generation`` — synchronous; `image_edit` owns
  that route and hands these models to `answer`. The wan models stream when SSE is negotiated
  (``X-DashScope-SSE: enable``, ``Accept: text/event-stream`` or ``parameters.stream: true``), and
  a refusal then arrives as an SSE error event.

Per model (every limit checked at submission, 400 ``InvalidParameter`` unless said otherwise):

``wan2.6-t2i``
    Exactly one text and no image (``content length only support 1``); text beyond 2100 characters
    is truncated. ``size`` ``"W*H"`` with total pixels in [1280*1280, 1440*1440] and aspect ratio
    in [1:4, 4:1] (default ``1280*1280``), and the recommended ``1104*1472``, ``1472*1104``,
    ``960*1696``, ``1696*960`` (a little under that range); ``n`` 1-4 (default 4); ``prompt_extend`` (default true),
    ``watermark``, ``seed``, ``negative_prompt`` (a string; beyond 500 characters truncated). One
    choice per picture, each ``{"image": url, "type": "image"}``; ``usage`` ``{image_count,
    input_tokens: 0, output_tokens: 0, size, total_tokens: 0}``; ``output.finished`` true.
``wan2.6-image``
    ``enable_interleave`` false (default, editing): 1-4 images and one text (beyond 2000 characters
    truncated); ``size`` ``"1K"`` (default: about 1280*1280 pixels with the aspect ratio of the last
    image), ``"2K"`` (about 2048*2048) or ``"W*H"`` with total pixels in [768*768, 2048*2048] and
    aspect ratio in [1:4, 4:1]; the output's sides are the nearest multiples of 16; ``n`` 1-4
    (default 4); answer shaped as wan2.6-t2i's. ``enable_interleave`` true (text and pictures
    interleaved): 0-1 image; ``n`` must be 1 (``num_images_per_prompt must be 1``); ``max_images``
    1-5 (default 5; the emulator always draws that many); ``size`` ``"W*H"`` with total pixels in
    [768*768, 1280*1280] (default: the input image's size, brought down to about 1280*1280 when
    larger, or 1280*1280 without one); a synchronous call must stream (else ``The parameter stream
    must be true when enable_interleave is true.``). The answer is one choice whose content
    alternates ``{"type": "text", "text"}`` paragraphs and ``{"type": "image", "image"}`` parts;
    ``usage`` counts the prompt's and the paragraphs' tokens (`textgen.tokens`). Streamed, each
    event carries one part (text in pieces of 4 tokens), ``finish_reason`` ``"null"`` and
    ``finished`` false until the last event (``"stop"``, true); ``usage`` grows as it goes
    (``size`` ``"0*0"`` before the first picture).
    Input images: JPEG, JPG, PNG, BMP, WEBP, each side in [240, 8000] pixels, at most 10 MB.
``qwen-image-3.0``, ``qwen-image-3.0-pro``
    One text and 0 images (generation) or 1-3 (editing); more: ``0 images = T2I mode, 1~3 images
    = I2I mode.``. ``size`` ``"W*H"`` with total pixels in [512*512, 2048*2048] and aspect ratio
    in [1:8, 8:1] (default: 1024*1024 for generation; about 1024*1024 pixels with the last image's
    aspect ratio for editing); ``n`` 1-6 (default 1); ``prompt_extend`` (default true);
    ``prompt_extend_mode`` ``direct`` (default) or ``agent`` (generation only); ``negative_prompt``
    (beyond 500 characters truncated). One choice holding every picture as ``{"image": url}``;
    ``usage`` is the 3.0 series' block ``{output_height, output_width, input_image_count,
    input_image_type, output_image_count, output_image_type}`` with types ``qima_input_1k`` /
    ``qima_output_1k`` up to 2,250,000 pixels and ``…_2k`` above (the input type from the largest
    input picture). Input images: JPG, JPEG, PNG, BMP, TIFF, WEBP, GIF, each side in [384, 2048]
    pixels, at most 10 MB.

All: ``seed`` in [0, 2147483647] (picture *i* uses ``seed + i``); parameters sent as ``null`` count
as absent and unknown ones (such as the ``is_async`` that the 1.x SDK's ``ImageGeneration.async_call``
leaks into ``parameters``) are ignored. Images are read as in `sources` (URLs, ``data:`` URIs,
``oss://`` uploads with ``X-DashScope-OssResourceResolve: enable``) and checked as in `image_inputs`.

Triggers in the text: ``[emulator:inspect]`` → 400 ``DataInspectionFailed`` (before any image is
read); ``[emulator:fail]`` → the task ends FAILED ``InternalError.Algo`` (synchronously: 500
``InternalError.Algo``); ``[emulator:partial]`` with two or more pictures → the last one is missing
from the answer (and from ``usage``), with one picture it is a failure as above.
"""

from __future__ import annotations

import functools
import re
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import anyio
from starlette.requests import Request
from starlette.responses import Response

from .envelope import ServiceError, invalid_parameter, json_response, new_request_id
from .gateway import ServiceCall, wants_sse
from .image_inputs import ImageRules, InputImage, load_image
from .image_messages import Content, split_content, user_content
from .images import render_edit_png, render_png
from .params import area_size, fit_area, flag, is_int, multiple_of_16, optional_text, present, seed
from .results import output_urls
from .sse import sse_error_response, sse_event, sse_response
from .state import emulator_state
from .task_api import result_root, submit_route
from .task_faults import EMULATED_FAILURE
from .tasks import ResultFile, Success, TaskFailure
from .text2image import WAN25_RECOMMENDED
from .textgen import tokens

SERVICE = "aigc/image-generation/generation"

FAIL_TRIGGER = "[emulator:fail]"
PARTIAL_TRIGGER = "[emulator:partial]"
INSPECT_TRIGGER = "[emulator:inspect]"

WAN_IMAGE_INPUT = ImageRules(("JPEG", "PNG", "BMP", "WEBP"), (240, 8000))
QWEN3_INPUT = ImageRules(("JPEG", "PNG", "BMP", "TIFF", "WEBP", "GIF"), (384, 2048))
QIMA_1K_LIMIT = 2_250_000
"""Pictures of at most this many pixels are billed in the ``1k`` tier of the 3.0 series."""
STREAM_TOKENS = 4
"""Tokens of text per streamed event."""

_NOT_STREAMED = "The parameter stream must be true when enable_interleave is true."

Layout = Literal["per_choice", "one_choice", "interleave"]


@dataclass(frozen=True)
class GenerationJob:
    """A validated request: the pictures to draw (and, interleaved, the text around them)."""

    layout: Layout
    qima_usage: bool
    """The 3.0 series' usage block instead of the wan one."""
    width: int
    height: int
    renders: tuple[Callable[[], bytes], ...]
    paragraphs: tuple[str, ...] = ()
    """Interleaved output: the paragraph before each picture."""
    input_tokens: int = 0
    input_images: int = 0
    input_tier: str = "1k"
    failure: TaskFailure | None = None
    lost: int = 0
    """Trailing pictures that fail while the request still succeeds."""

    @property
    def metrics_total(self) -> None:
        return None

    @property
    def files(self) -> Sequence[ResultFile]:
        if self.failure is not None:
            return ()
        kept = self.renders[: len(self.renders) - self.lost]
        return tuple(ResultFile(f"{index + 1}.png", "image/png", render) for index, render in enumerate(kept))

    @property
    def size(self) -> str:
        return f"{self.width}*{self.height}"

    @property
    def output_tokens(self) -> int:
        return sum(len(tokens(paragraph)) for paragraph in self.paragraphs)

    def output(self, urls: Sequence[str]) -> dict[str, Any]:
        if self.layout == "per_choice":
            choices = [_choice([{"image": url, "type": "image"}]) for url in urls]
        elif self.layout == "one_choice":
            choices = [_choice([{"image": url} for url in urls])]
        else:
            parts: list[dict[str, str]] = []
            for index, paragraph in enumerate(self.paragraphs):
                parts.append({"text": paragraph, "type": "text"})
                if index < len(urls):
                    parts.append({"image": urls[index], "type": "image"})
            choices = [_choice(parts)]
        if self.qima_usage:
            return {"choices": choices}
        return {"choices": choices, "finished": True}

    def usage(self, count: int) -> dict[str, Any]:
        if self.qima_usage:
            tier = "1k" if self.width * self.height <= QIMA_1K_LIMIT else "2k"
            return {
                "output_height": self.height,
                "output_width": self.width,
                "input_image_count": self.input_images,
                "input_image_type": f"qima_input_{self.input_tier}",
                "output_image_count": count,
                "output_image_type": f"qima_output_{tier}",
            }
        output_tokens = self.output_tokens
        return {
            "image_count": count,
            "input_tokens": self.input_tokens,
            "output_tokens": output_tokens,
            "size": self.size,
            "total_tokens": self.input_tokens + output_tokens,
        }

    def success(self, urls: Sequence[str]) -> Success:
        return Success(self.output(urls), self.usage(len(urls)), len(urls))


def _choice(content: list[dict[str, str]], finish_reason: str = "stop") -> dict[str, Any]:
    return {"finish_reason": finish_reason, "message": {"role": "assistant", "content": content}}


# --- shared checks ---------------------------------------------------------------------------------


def _content(call: ServiceCall, low: int, high: int, count_error: str) -> Content:
    """One text and ``low``..``high`` images."""
    content = split_content(user_content(call.input))
    if not low <= len(content.images) <= high:
        raise invalid_parameter(count_error)
    return content


def _count(params: Mapping[str, Any], name: str, default: int, high: int) -> int:
    value = params.get(name, default)
    if not is_int(value) or not 1 <= value <= high:
        raise invalid_parameter(f"Range of {name} should be [1, {high}]")
    return int(value)


def _outcome(text: str, pictures: int) -> tuple[TaskFailure | None, int]:
    """The scripted failure and lost pictures the triggers in ``text`` ask for."""
    if FAIL_TRIGGER in text or (PARTIAL_TRIGGER in text and pictures == 1):
        return EMULATED_FAILURE, 0
    return None, 1 if PARTIAL_TRIGGER in text else 0


def _inspect(text: str) -> None:
    if INSPECT_TRIGGER in text:
        raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")


async def _images(call: ServiceCall, refs: list[object], rules: ImageRules) -> list[InputImage]:
    return [await load_image(call.sources, ref, rules, "image") for ref in refs]


def _renders(
    text: str, picture_seed: int, count: int, width: int, height: int, images: list[InputImage]
) -> tuple[Callable[[], bytes], ...]:
    """``count`` pictures: generated from the text, or edits of the input images."""
    if images:
        previews = tuple(image.preview for image in images)
        edit = functools.partial(render_edit_png, previews, text)
        return tuple(functools.partial(edit, picture_seed + index, width, height) for index in range(count))
    return tuple(functools.partial(render_png, text, picture_seed + index, width, height) for index in range(count))


_CJK = re.compile(r"[\u3400-\u9fff]")


def paragraphs(prompt: str, count: int) -> tuple[str, ...]:
    """The text the emulator interleaves with ``count`` pictures: one deterministic paragraph each."""
    topic = prompt.strip()[:60]
    if _CJK.search(topic):
        return tuple(f"第{index}步（共{count}步）：关于“{topic}”，请看下图。" for index in range(1, count + 1))
    return tuple(
        f'Step {index} of {count} for "{topic}": the picture below shows this step.' for index in range(1, count + 1)
    )


# --- the models ------------------------------------------------------------------------------------


async def _wan_t2i(call: ServiceCall) -> GenerationJob:
    params = present(call.parameters)
    content = _content(call, 0, 0, "content length only support 1")
    text = content.text[:2100]
    optional_text(params, "negative_prompt")
    width, height = area_size(params.get("size"), "1280*1280", 1280, 1440, 4, also=WAN25_RECOMMENDED)
    n = _count(params, "n", 4, 4)
    picture_seed = seed(params, text)
    flag(params, "prompt_extend", True)
    flag(params, "watermark", False)
    _inspect(text)
    failure, lost = _outcome(text, n)
    renders = _renders(text, picture_seed, n, width, height, [])
    return GenerationJob("per_choice", False, width, height, renders, failure=failure, lost=lost)


def _rounded(size: tuple[int, int]) -> tuple[int, int]:
    return multiple_of_16(size[0]), multiple_of_16(size[1])


_TIERS = {"1K": 1280, "2K": 2048}


async def _wan_image(call: ServiceCall) -> GenerationJob:
    params = present(call.parameters)
    interleave = flag(params, "enable_interleave", False)
    flag(params, "stream", False)
    if interleave:
        content = _content(call, 0, 1, "At most 1 image is supported when enable_interleave is true.")
    else:
        content = _content(call, 1, 4, "1 to 4 images are required when enable_interleave is false.")
    text = content.text[:2000]
    optional_text(params, "negative_prompt")
    size = params.get("size")
    requested: tuple[int, int] | None = None
    tier = 1280
    if interleave:
        n = params.get("n", 1)
        if not is_int(n) or n != 1:
            raise invalid_parameter("num_images_per_prompt must be 1")
        pictures = _count(params, "max_images", 5, 5)
        if size is not None:
            requested = _rounded(area_size(size, "", 768, 1280, 4, example="1280*1280"))
    else:
        pictures = _count(params, "n", 4, 4)
        flag(params, "prompt_extend", True)
        if isinstance(size, str) and size in _TIERS:
            tier = _TIERS[size]
        elif size is not None:
            try:
                requested = _rounded(area_size(size, "", 768, 2048, 4))
            except ServiceError:
                raise invalid_parameter(
                    "The size is not match the allowed size: '1K', '2K', or total pixels in [768*768, 2048*2048] "
                    f"with the aspect ratio in [1:4, 4:1], e.g. '1280*1280', got {size!r}"
                ) from None
    picture_seed = seed(params, text)
    flag(params, "watermark", False)
    _inspect(text)
    images = await _images(call, content.images, WAN_IMAGE_INPUT)
    if requested is not None:
        width, height = requested
    elif not images:
        width, height = 1280, 1280
    elif interleave and images[-1].width * images[-1].height <= 1280 * 1280:
        width, height = images[-1].width, images[-1].height
    else:
        width, height = fit_area(images[-1].width, images[-1].height, tier, 4)
    failure, lost = _outcome(text, pictures)
    renders = _renders(text, picture_seed, pictures, width, height, images)
    if not interleave:
        return GenerationJob("per_choice", False, width, height, renders, failure=failure, lost=lost)
    return GenerationJob(
        "interleave",
        False,
        width,
        height,
        renders,
        paragraphs=paragraphs(text, pictures),
        input_tokens=len(tokens(text)),
        input_images=len(images),
        failure=failure,
        lost=lost,
    )


async def _qwen3(call: ServiceCall) -> GenerationJob:
    params = present(call.parameters)
    content = _content(call, 0, 3, "0 images = T2I mode, 1~3 images = I2I mode.")
    text = content.text
    optional_text(params, "negative_prompt")
    n = _count(params, "n", 1, 6)
    size = params.get("size")
    requested = None if size is None else area_size(size, "", 512, 2048, 8, example="1024*1024")
    flag(params, "prompt_extend", True)
    mode = params.get("prompt_extend_mode", "direct")
    if mode not in ("direct", "agent"):
        raise invalid_parameter(f"The prompt_extend_mode must be 'direct' or 'agent', got {mode!r}")
    if mode == "agent" and content.images:
        raise invalid_parameter("The prompt_extend_mode 'agent' only supports text-to-image requests (no image).")
    picture_seed = seed(params, text)
    flag(params, "watermark", False)
    _inspect(text)
    images = await _images(call, content.images, QWEN3_INPUT)
    if requested is not None:
        width, height = requested
    elif images:
        width, height = fit_area(images[-1].width, images[-1].height, 1024, 8)
    else:
        width, height = 1024, 1024
    largest = max((image.width * image.height for image in images), default=0)
    failure, lost = _outcome(text, n)
    return GenerationJob(
        "one_choice",
        True,
        width,
        height,
        _renders(text, picture_seed, n, width, height, images),
        input_images=len(images),
        input_tier="1k" if largest <= QIMA_1K_LIMIT else "2k",
        failure=failure,
        lost=lost,
    )


@dataclass(frozen=True)
class _Model:
    plan: Callable[[ServiceCall], Awaitable[GenerationJob]]
    streams: bool
    """Whether a synchronous call may stream (SSE)."""


MODELS: Mapping[str, _Model] = {
    "wan2.6-t2i": _Model(_wan_t2i, streams=True),
    "wan2.6-image": _Model(_wan_image, streams=True),
    "qwen-image-3.0": _Model(_qwen3, streams=False),
    "qwen-image-3.0-pro": _Model(_qwen3, streams=False),
}


class ImageGeneration:
    """The `TaskKind` of the async image-generation endpoint."""

    models = MODELS

    async def plan(self, call: ServiceCall) -> GenerationJob:
        return await MODELS[call.model].plan(call)


# --- the synchronous answer ------------------------------------------------------------------------


def _wants_stream(request: Request, params: Mapping[str, Any]) -> bool:
    return wants_sse(request) or params.get("stream") is True


async def answer(request: Request, call: ServiceCall) -> Response:
    """The synchronous answer for one of `MODELS` (after the gateway's checks, made by `image_edit`)."""
    state = emulator_state(request)
    model = MODELS[call.model]
    streaming = model.streams and _wants_stream(request, call.parameters)
    try:
        job = await model.plan(call)
        if job.layout == "interleave" and not streaming:
            raise invalid_parameter(_NOT_STREAMED)
        if job.failure is not None:
            raise ServiceError(500, job.failure.code, job.failure.message)
    except ServiceError as refused:
        if streaming:
            return sse_error_response(refused)
        raise
    output = state.outputs.add(job.files, state.now())
    if state.faults.outcome("sync") == "expired_urls":
        state.faults.expire_urls(output.output_id)
    urls = output_urls(state, output, result_root(request, state))
    request_id = new_request_id()
    if not streaming:
        return json_response({"output": job.output(urls), "usage": job.usage(len(urls)), "request_id": request_id})
    pause = state.config.stream_chunk_seconds
    return sse_response(_events(job, urls, request_id, pause), request_id)


async def _events(job: GenerationJob, urls: Sequence[str], request_id: str, pause: float) -> AsyncIterator[bytes]:
    """The SSE events of an answer: the whole answer in one event, or the interleaved parts one by one."""
    if job.layout != "interleave":
        data = {"output": job.output(urls), "usage": job.usage(len(urls)), "request_id": request_id}
        yield sse_event(1, "result", 200, data)
        return
    parts: list[tuple[dict[str, str], int]] = []
    for index, paragraph in enumerate(job.paragraphs):
        pieces = tokens(paragraph)
        for start in range(0, len(pieces), STREAM_TOKENS):
            chunk = pieces[start : start + STREAM_TOKENS]
            parts.append(({"type": "text", "text": "".join(chunk)}, len(chunk)))
        if index < len(urls):
            parts.append(({"type": "image", "image": urls[index]}, 0))
    output_tokens = images = 0
    for number, (part, count) in enumerate(parts, start=1):
        if number > 1:
            await anyio.sleep(pause)
        last = number == len(parts)
        output_tokens += count
        images += "image" in part
        usage = {
            "input_tokens": job.input_tokens,
            "output_tokens": output_tokens,
            "total_tokens": job.input_tokens + output_tokens,
            "image_count": images,
            "size": job.size if images else "0*0",
        }
        output = {"choices": [_choice([part], "stop" if last else "null")], "finished": last}
        yield sse_event(number, "result", 200, {"output": output, "usage": usage, "request_id": request_id})


ROUTES = [submit_route(SERVICE, ImageGeneration())]
