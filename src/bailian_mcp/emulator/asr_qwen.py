"""Synchronous speech recognition with qwen3-asr-flash:
``POST /api/v1/services/aigc/multimodal-generation/generation`` (the route of `image_edit`, which hands these
models here).

Models ``qwen3-asr-flash`` (and ``-2025-09-08``, and the US ``qwen3-asr-flash-us``). ``input.messages``: an
optional ``system`` message first (its text is context only), then exactly one ``user`` message whose
``content`` holds exactly one ``{"audio": ref}`` — an ``http(s)://`` URL, a ``data:`` URI or an ``oss://``
upload key (with ``X-DashScope-OssResourceResolve: enable``), checked and read as in `sources`. Refusals,
400 ``InvalidParameter``: ``No messages found in input``; ``The last message must be a user message with
one audio`` (no user message, other roles, more messages, several or no audio items); a reference that is
not usable (``url error, please check url！``); a file that cannot be read (``The audio file cannot be
downloaded.``), over 10 MB (``The audio file size exceeds the limit of 10MB.``), that is not WAV or MP3
(``The audio format is not supported.``, see `audio.probe` — the emulator reads no other container), that
lasts 0 ms or over 5 minutes (``The audio duration should be in (0, 300] seconds.``).
``parameters.asr_options``: ``language`` one of the documented codes (default: detected), ``enable_itn`` and
``enable_lid`` booleans; other keys are ignored.

The recognized text is the text the emulator's speech synthesis embedded in the file (see `audio`), else a
fixed sentence naming the duration (in Chinese when ``language`` is ``zh``/``yue``). The answer:
``output.choices[0]`` ``{finish_reason: "stop", message: {role: "assistant", content: [{text}],
annotations: [{language, type: "audio_info", emotion: "neutral"}]}}`` and ``usage``
``{input_tokens_details: {text_tokens: 0}, output_tokens_details: {text_tokens: N}, seconds}`` (whole seconds,
rounded up, at least 1). Streamed (``X-DashScope-SSE: enable`` or ``parameters.stream``) the text comes a few
tokens per event, cumulative unless ``parameters.incremental_output`` is true, ``finish_reason`` ``"null"``
until the last event's ``"stop"``.
"""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Mapping
from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from .audio import AudioInfo, probe
from .envelope import ServiceError, invalid_parameter, json_response, new_request_id
from .gateway import ServiceCall, wants_sse
from .params import flag, present
from .sources import Unreadable
from .sse import sse_error_response, sse_event, sse_response
from .state import emulator_state
from .textgen import tokens

MODELS = frozenset({"qwen3-asr-flash", "qwen3-asr-flash-2025-09-08", "qwen3-asr-flash-us"})
_LANGUAGE_CODES = "zh yue en ja de ko ru fr pt ar it es hi id th tr uk vi cs da fil fi is ms no pl sv"
LANGUAGES = frozenset(_LANGUAGE_CODES.split())
MAX_BYTES = 10 * 1024 * 1024
MAX_SECONDS = 300
STREAM_TOKENS = 4
_ONE_AUDIO = "The last message must be a user message with one audio"
_CJK = frozenset(range(0x3400, 0xA000))


def _audio_ref(payload: Mapping[str, Any]) -> object:
    messages = payload.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_parameter("No messages found in input")
    if not all(isinstance(message, dict) for message in messages):
        raise invalid_parameter(_ONE_AUDIO)
    first = messages[0]
    rest = messages[1:] if first.get("role") == "system" else messages
    if len(rest) != 1 or rest[0].get("role") != "user":
        raise invalid_parameter(_ONE_AUDIO)
    content = rest[0].get("content")
    if not isinstance(content, list):
        raise invalid_parameter(_ONE_AUDIO)
    audios = [item["audio"] for item in content if isinstance(item, dict) and "audio" in item]
    if len(audios) != 1:
        raise invalid_parameter(_ONE_AUDIO)
    return audios[0]


def _options(params: Mapping[str, Any]) -> tuple[str | None, bool]:
    options = params.get("asr_options") or {}
    if not isinstance(options, dict):
        raise invalid_parameter("Parameter asr_options must be an object")
    options = present(options)
    language = options.get("language")
    if language is not None and language not in LANGUAGES:
        raise invalid_parameter(f"Parameter asr_options.language is not supported: {language!r}")
    itn = flag(options, "enable_itn", False)
    flag(options, "enable_lid", False)
    return language, itn


def recognized_text(info: AudioInfo, language: str | None) -> str:
    if info.text:
        return info.text
    seconds = f"{info.duration_ms / 1000:.1f}"
    if language in ("zh", "yue"):
        return f"这是一段{seconds}秒音频的模拟识别结果。"
    return f"This is an emulated transcript of {seconds} seconds of audio."


def detect_language(text: str, language: str | None) -> str:
    """``language`` when given, else ``zh`` for text with CJK ideographs and ``en`` otherwise."""
    if language is not None:
        return language
    return "zh" if any(ord(char) in _CJK for char in text) else "en"


async def recognize(call: ServiceCall) -> tuple[str, str, int]:
    """The text, its language and the billed seconds; raise `ServiceError` to refuse."""
    ref = call.sources.check(_audio_ref(call.input))
    language, _ = _options(present(call.parameters))
    try:
        data = await call.sources.read(ref, MAX_BYTES)
    except Unreadable as error:
        if error.too_large:
            raise invalid_parameter("The audio file size exceeds the limit of 10MB.") from None
        raise invalid_parameter("The audio file cannot be downloaded.") from None
    info = await anyio.to_thread.run_sync(probe, data)
    if info is None:
        raise invalid_parameter("The audio format is not supported.")
    if not 0 < info.duration_ms <= MAX_SECONDS * 1000:
        raise invalid_parameter(f"The audio duration should be in (0, {MAX_SECONDS}] seconds.")
    text = recognized_text(info, language)
    return text, detect_language(text, language), max(1, math.ceil(info.duration_ms / 1000))


def _body(text: str, language: str, seconds: int, tokens_out: int, finish: str, request_id: str) -> dict[str, Any]:
    message = {
        "annotations": [{"language": language, "type": "audio_info", "emotion": "neutral"}],
        "content": [{"text": text}],
        "role": "assistant",
    }
    return {
        "output": {"choices": [{"finish_reason": finish, "message": message}]},
        "usage": {
            "input_tokens_details": {"text_tokens": 0},
            "output_tokens_details": {"text_tokens": tokens_out},
            "seconds": seconds,
        },
        "request_id": request_id,
    }


async def _events(
    text: str, language: str, seconds: int, incremental: bool, request_id: str, pause: float
) -> AsyncIterator[bytes]:
    pieces = tokens(text) or [""]
    groups = [pieces[start : start + STREAM_TOKENS] for start in range(0, len(pieces), STREAM_TOKENS)]
    done: list[str] = []
    for number, group in enumerate(groups, start=1):
        if number > 1:
            await anyio.sleep(pause)
        done.extend(group)
        shown = "".join(group) if incremental else "".join(done)
        finish = "stop" if number == len(groups) else "null"
        yield sse_event(number, "result", 200, _body(shown, language, seconds, len(done), finish, request_id))


async def answer(request: Request, call: ServiceCall) -> Response:
    """The answer for one of `MODELS` (after the gateway's checks, made by `image_edit`)."""
    state = emulator_state(request)
    params = present(call.parameters)
    streaming = wants_sse(request) or params.get("stream") is True
    try:
        text, language, seconds = await recognize(call)
    except ServiceError as refused:
        if streaming:
            return sse_error_response(refused)
        raise
    request_id = new_request_id()
    if not streaming:
        return json_response(_body(text, language, seconds, len(tokens(text)), "stop", request_id))
    incremental = params.get("incremental_output") is True
    pause = state.config.stream_chunk_seconds
    return sse_response(_events(text, language, seconds, incremental, request_id, pause), request_id)
