"""Qwen-TTS speech synthesis on ``POST /api/v1/services/aigc/multimodal-generation/generation`` (the route of
`image_edit`, which hands these models here).

Models: ``qwen-tts`` (and ``-latest``, ``-2025-05-22``, ``-2025-04-10``; billed in tokens), ``qwen3-tts-flash``
(and ``-2025-11-27``, ``-2025-09-18``) and ``qwen3-tts-instruct-flash`` (and ``-2026-01-26``), billed in
characters. ``input``: ``text`` (required; at most 512 tokens for qwen-tts — the emulator's tokens, see
`textgen.tokens` — and 600 characters for the others: ``The length of text exceeds the limit of …``),
``voice`` (required, one of the model's system voices, else ``The voice 'X' is not supported by the model
'M'.``), ``language_type`` (``Auto`` default, ``Chinese``, ``English``, ``German``, ``Italian``,
``Portuguese``, ``Spanish``, ``Japanese``, ``Korean``, ``French``, ``Russian``). ``instructions`` (at most
1600 tokens) and ``optimize_instructions`` (boolean; needs ``instructions``) are read from ``input`` (the
documentation) or ``parameters`` (where the 1.x SDK puts them); they apply to the instruct models only and
are ignored by the others. All refusals are 400 ``InvalidParameter``.

Voices: qwen-tts ``Cherry``, ``Serena``, ``Ethan``, ``Chelsie``, ``Dylan``, ``Jada``, ``Sunny`` ("at most 7
voices"); qwen3-tts-flash and the instruct models the 17 voices of the 2025-09 list plus the newer names
of the official demo (the 49-voice table was not read; `QWEN3_VOICES`).

The audio (see `speech`): WAV, 24 kHz, PCM16 mono, 0.2 s per character. Plain answer:
``output {finish_reason: "stop", audio: {data: "", url, id: "audio_<request id>", expires_at}}``; streamed
(``X-DashScope-SSE: enable`` or ``parameters.stream``) each event carries base64 24 kHz PCM (at most one
second) in ``output.audio.data`` with ``url`` empty and ``finish_reason`` ``"null"``, the last event
``data: ""``, the whole WAV's ``url`` and ``"stop"``. ``usage``: qwen3 models ``{input_tokens: 0,
output_tokens: 0, characters}`` (ideographs count 2); qwen-tts ``{input_tokens, output_tokens (50 per second
of audio), characters: 0, input_tokens_details: {text_tokens}, output_tokens_details: {audio_tokens,
text_tokens: 0}, total_tokens}``. ``[emulator:inspect]`` in the text → 400 ``DataInspectionFailed``.
"""

from __future__ import annotations

import base64
import math
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response

from .envelope import ServiceError, invalid_parameter, json_response, new_request_id
from .gateway import ServiceCall, wants_sse
from .params import flag, optional_text, present, required_text
from .speech import Speech, billed_characters
from .speech_http import INSPECT_TRIGGER, expires_of, store_audio
from .sse import sse_error_response, sse_event, sse_response
from .state import emulator_state
from .textgen import tokens

QWEN_TTS_VOICES = frozenset({"Cherry", "Serena", "Ethan", "Chelsie", "Dylan", "Jada", "Sunny"})
_QWEN3_NAMES = (
    "Cherry Ethan Nofish Jennifer Ryan Katerina Elias Jada Dylan Sunny li Marcus Roy Peter Rocky Kiki Eric "
    "Serena Chelsie Momo Vivian Moon Maia Kai Bella"
)
QWEN3_VOICES = frozenset(_QWEN3_NAMES.split())
LANGUAGE_TYPES = ("Auto", "Chinese", "English", "German", "Italian", "Portuguese", "Spanish", "Japanese", "Korean",
                  "French", "Russian")  # fmt: skip
SAMPLE_RATE = 24000
AUDIO_TOKENS_PER_SECOND = 50
INSTRUCTIONS_LIMIT = 1600


@dataclass(frozen=True)
class _Model:
    voices: frozenset[str]
    token_billed: bool = False
    instruct: bool = False


_QWEN_TTS = _Model(QWEN_TTS_VOICES, token_billed=True)
_QWEN3 = _Model(QWEN3_VOICES)
_INSTRUCT = _Model(QWEN3_VOICES, instruct=True)
MODELS: Mapping[str, _Model] = {
    "qwen-tts": _QWEN_TTS,
    "qwen-tts-latest": _QWEN_TTS,
    "qwen-tts-2025-05-22": _QWEN_TTS,
    "qwen-tts-2025-04-10": _QWEN_TTS,
    "qwen3-tts-flash": _QWEN3,
    "qwen3-tts-flash-2025-11-27": _QWEN3,
    "qwen3-tts-flash-2025-09-18": _QWEN3,
    "qwen3-tts-instruct-flash": _INSTRUCT,
    "qwen3-tts-instruct-flash-2026-01-26": _INSTRUCT,
}


def _text(model: _Model, payload: Mapping[str, Any]) -> str:
    text = required_text(payload, "text")
    if model.token_billed and len(tokens(text)) > 512:
        raise invalid_parameter("The length of text exceeds the limit of 512 tokens.")
    if not model.token_billed and len(text) > 600:
        raise invalid_parameter("The length of text exceeds the limit of 600 characters.")
    return text


def _instructions(model: _Model, payload: Mapping[str, Any], params: Mapping[str, Any]) -> None:
    if not model.instruct:
        return
    options = {**params, **payload}
    instructions = optional_text(options, "instructions")
    if instructions is not None and len(tokens(instructions)) > INSTRUCTIONS_LIMIT:
        raise invalid_parameter(f"The length of instructions exceeds the limit of {INSTRUCTIONS_LIMIT} tokens.")
    if flag(options, "optimize_instructions", False) and not instructions:
        raise invalid_parameter("Parameter optimize_instructions requires instructions.")


def plan(call: ServiceCall) -> tuple[_Model, Speech]:
    model = MODELS[call.model]
    payload = present(call.input)
    text = _text(model, payload)
    voice = required_text(payload, "voice")
    if voice not in model.voices:
        raise invalid_parameter(f"The voice '{voice}' is not supported by the model '{call.model}'.")
    language = payload.get("language_type", "Auto")
    if language not in LANGUAGE_TYPES:
        raise invalid_parameter(f"The language_type {language!r} is not supported, supported values: "
                                f"{list(LANGUAGE_TYPES)}")  # fmt: skip
    _instructions(model, payload, present(call.parameters))
    if INSPECT_TRIGGER in text:
        raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    return model, Speech(text, "wav", SAMPLE_RATE)


def _usage(model: _Model, speech: Speech) -> dict[str, Any]:
    if not model.token_billed:
        return {"input_tokens": 0, "output_tokens": 0, "characters": billed_characters(speech.text)}
    text_tokens = len(tokens(speech.text))
    audio_tokens = math.ceil(speech.duration_ms * AUDIO_TOKENS_PER_SECOND / 1000)
    return {
        "input_tokens": text_tokens,
        "output_tokens": audio_tokens,
        "characters": 0,
        "input_tokens_details": {"text_tokens": text_tokens},
        "output_tokens_details": {"audio_tokens": audio_tokens, "text_tokens": 0},
        "total_tokens": text_tokens + audio_tokens,
    }


async def _events(
    speech: Speech, usage: dict[str, Any], url: str, request_id: str, pause: float
) -> AsyncIterator[bytes]:
    audio = {"data": "", "url": "", "id": f"audio_{request_id}", "expires_at": expires_of(url)}
    pcm = await anyio.to_thread.run_sync(speech.pcm)
    second = 2 * speech.sample_rate
    number = 0
    for start in range(0, len(pcm), second):
        if number:
            await anyio.sleep(pause)
        number += 1
        chunk = {**audio, "data": base64.b64encode(pcm[start : start + second]).decode()}
        output = {"finish_reason": "null", "audio": chunk}
        yield sse_event(number, "result", 200, {"output": output, "usage": usage, "request_id": request_id})
    output = {"finish_reason": "stop", "audio": {**audio, "url": url}}
    yield sse_event(number + 1, "result", 200, {"output": output, "usage": usage, "request_id": request_id})


async def answer(request: Request, call: ServiceCall) -> Response:
    """The answer for one of `MODELS` (after the gateway's checks, made by `image_edit`)."""
    state = emulator_state(request)
    streaming = wants_sse(request) or present(call.parameters).get("stream") is True
    try:
        model, speech = plan(call)
    except ServiceError as refused:
        if streaming:
            return sse_error_response(refused)
        raise
    url = store_audio(request, state, speech)
    usage = _usage(model, speech)
    request_id = new_request_id()
    if streaming:
        return sse_response(_events(speech, usage, url, request_id, state.config.stream_chunk_seconds), request_id)
    audio = {"data": "", "url": url, "id": f"audio_{request_id}", "expires_at": expires_of(url)}
    body = {"output": {"finish_reason": "stop", "audio": audio}, "usage": usage, "request_id": request_id}
    return json_response(body)
