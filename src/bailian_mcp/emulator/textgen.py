"""Text generation (protocol §4): ``POST /api/v1/services/aigc/text-generation/generation``, synchronous.

Models, with their output and input limits in tokens and their defaults:

========================  ==========  ===========  =============  ==================
model                     max output  max input    result_format  incremental_output
========================  ==========  ===========  =============  ==================
qwen-turbo                8192        129024       text           false
qwen-turbo-latest         16384       129024       text           false
qwen-plus                 8192        129024       text           false
qwen-plus-latest          16384       129024       text           false
qwen-max                  8192        30720        text           false
qwen-max-latest           8192        129024       text           false
qwen-long                 8192        10000000     message        false
qwen3-max                 65536       258048       message        true
========================  ==========  ===========  =============  ==================

Input is ``input.messages`` (``system`` only first, then ``user``/``assistant``, each with
non-empty string content, at least one ``user``) or the legacy ``input.prompt``; when
``messages`` is present it wins. Parameters are checked as the service does, with its messages:
``temperature`` [0, 2), ``top_p`` (0, 1], ``top_k`` ≥ 0, ``max_tokens`` [1, model max] (default
the model max), ``seed`` [0, 2^63-1], ``stop`` (str, list of str, list of int or list of lists of
int), ``result_format``, ``incremental_output``, ``repetition_penalty`` > 0, ``presence_penalty``
[-2, 2], ``enable_thinking`` (needs ``result_format`` ``message``); others are ignored.

The reply is deterministic: a short answer that quotes the last user message. Tokens are
counted without a vocabulary: a token is one run of up to 4 ASCII letters/digits, or any one
other non-space character (so each Chinese character is a token), leading whitespace included;
input tokens are the tokens of all message contents. ``max_tokens`` cuts the reply to that many
tokens (``finish_reason`` ``length``); a string ``stop`` sequence cuts it before the first match.
Token-id ``stop`` sequences are accepted but never match (there are no real token ids).

The answers are keyed as in the recordings: ``output.text`` + ``finish_reason`` for ``text``
(whose ``usage`` also has ``prompt_tokens_details``, as in the 2025 capture),
``output.choices[0].message`` for ``message`` (whose ``usage`` has not, as in the 2024 capture).

Streaming (``X-DashScope-SSE: enable`` or ``Accept: text/event-stream``) sends 4 tokens per
event, ``stream_chunk_seconds`` apart, with cumulative ``usage``; ``incremental_output`` true
sends each piece, false the whole text so far; the last event carries ``finish_reason``. Errors
found after the key, header and body checks are sent as an SSE error event on such requests.

Test triggers, anywhere in the input text:

``[emulator:inspect]``
    400 ``DataInspectionFailed`` ``Input data may contain inappropriate content.``
``[emulator:stream-error]``
    A stream sends two events, then ``event:error`` with ``:HTTP_STATUS/500`` ``InternalError``;
    without streaming the call fails with HTTP 500 ``InternalError``.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .envelope import ServiceError, invalid_parameter, json_response, new_request_id
from .gateway import ServiceCall, read_sync_call, wants_sse
from .params import is_int, is_number
from .sse import error_event, sse_error_response, sse_event, sse_response
from .task_api import API_PREFIX

SERVICE = "aigc/text-generation/generation"

INSPECT_TRIGGER = "[emulator:inspect]"
STREAM_ERROR_TRIGGER = "[emulator:stream-error]"

SEED_MAX = 9223372036854775807
CHUNK_TOKENS = 4
"""Tokens per streamed event."""


@dataclass(frozen=True)
class ModelSpec:
    max_output_tokens: int
    max_input_tokens: int
    result_format: str = "text"
    incremental_output: bool = False


MODELS: Mapping[str, ModelSpec] = {
    "qwen-turbo": ModelSpec(8192, 129024),
    "qwen-turbo-latest": ModelSpec(16384, 129024),
    "qwen-plus": ModelSpec(8192, 129024),
    "qwen-plus-latest": ModelSpec(16384, 129024),
    "qwen-max": ModelSpec(8192, 30720),
    "qwen-max-latest": ModelSpec(8192, 129024),
    "qwen-long": ModelSpec(8192, 10000000, result_format="message"),
    "qwen3-max": ModelSpec(65536, 258048, result_format="message", incremental_output=True),
}

_ROLE_ERROR = "Role must be user or assistant and Content length must be greater than 0"
_NO_INPUT = 'Either "prompt" or "messages" must exist and cannot both be none'
_STOP_ERROR = 'The "stop" parameter must be of type str, list[str], list[int] or list[list[int]]'
_INTERNAL = ServiceError(
    500, "InternalError", "An internal error has occured, please try again later or contact service support."
)
_TOKEN = re.compile(r"\s*(?:[A-Za-z0-9]{1,4}|[^\sA-Za-z0-9])|\s+")
_CJK = re.compile(r"[\u3400-\u9fff]")


def tokens(text: str) -> list[str]:
    """The emulator's tokens of ``text``; joined, they give ``text`` back."""
    return _TOKEN.findall(text)


@dataclass(frozen=True)
class Reply:
    pieces: list[str]
    """The reply's tokens."""
    finish_reason: str
    input_tokens: int

    @property
    def text(self) -> str:
        return "".join(self.pieces)


@dataclass(frozen=True)
class GenerationRequest:
    """A validated text-generation call."""

    model: str
    contents: list[str]
    """Every message content (or the prompt), in order."""
    question: str
    """The last user message."""
    result_format: str
    incremental_output: bool
    max_tokens: int
    stops: list[str]


def reply_text(question: str) -> str:
    """The full reply to a question, before ``stop`` and ``max_tokens`` cut it."""
    quoted = question.strip()[:200]
    if _CJK.search(quoted):
        return (
            f"你的问题是：“{quoted}”。这是 DashScope 模拟器给出的确定性回答：它复述了你的问题"
            f"（共 {len(quoted)} 个字符），并且足够长，可以分成多个流式片段返回。"
        )
    return (
        f'You asked: "{quoted}". This is a deterministic reply from the DashScope emulator: it repeats '
        f"your question, which has {len(quoted)} characters, and it is long enough to arrive in several "
        "streamed chunks."
    )


def generate(request: GenerationRequest) -> Reply:
    text = reply_text(request.question)
    finish_reason = "stop"
    cuts = [text.find(stop) for stop in request.stops if stop and stop in text]
    if cuts:
        text = text[: min(cuts)]
    pieces = tokens(text)
    if len(pieces) > request.max_tokens:
        pieces, finish_reason = pieces[: request.max_tokens], "length"
    input_tokens = sum(len(tokens(content)) for content in request.contents)
    return Reply(pieces, finish_reason, input_tokens)


def _messages(payload: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(role, content)`` pairs from ``messages``, or the prompt as one user message."""
    messages = payload.get("messages")
    if messages is None:
        prompt = payload.get("prompt")
        if prompt is None or prompt == "":
            raise invalid_parameter(_NO_INPUT)
        if not isinstance(prompt, str):
            raise invalid_parameter(_ROLE_ERROR)
        return [("user", prompt)]
    if not isinstance(messages, list) or not messages:
        raise invalid_parameter(_ROLE_ERROR)
    pairs = []
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        content = message.get("content") if isinstance(message, dict) else None
        allowed = {"user", "assistant", "system"} if index == 0 else {"user", "assistant"}
        if role not in allowed or not isinstance(content, str) or not content:
            raise invalid_parameter(_ROLE_ERROR)
        pairs.append((str(role), content))
    if not any(role == "user" for role, _ in pairs):
        raise invalid_parameter(_ROLE_ERROR)
    return pairs


def _stops(value: object) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        if all(isinstance(item, str) for item in value):
            return list(value)
        if all(is_int(item) for item in value):
            return []
        if all(isinstance(item, list) and item and all(is_int(i) for i in item) for item in value):
            return []
    raise invalid_parameter(_STOP_ERROR)


def _check_parameters(params: Mapping[str, Any]) -> None:
    temperature = params.get("temperature")
    if temperature is not None and not (is_number(temperature) and 0 <= temperature < 2):
        raise invalid_parameter("Temperature should be in [0.0, 2.0)")
    top_p = params.get("top_p")
    if top_p is not None and not (is_number(top_p) and 0 < top_p <= 1):
        raise invalid_parameter("Range of top_p should be (0.0, 1.0]")
    top_k = params.get("top_k")
    if top_k is not None and not (is_int(top_k) and top_k >= 0):
        raise invalid_parameter("Parameter top_k be greater than or equal to 0")
    seed = params.get("seed")
    if seed is not None and not (is_int(seed) and 0 <= seed <= SEED_MAX):
        raise invalid_parameter(f"Range of seed should be [0, {SEED_MAX}]")
    penalty = params.get("repetition_penalty")
    if penalty is not None and not (is_number(penalty) and penalty > 0):
        raise invalid_parameter("repetition_penalty should be greater than 0.0")
    presence = params.get("presence_penalty")
    if presence is not None and not (is_number(presence) and -2 <= presence <= 2):
        raise invalid_parameter("Range of presence_penalty should be [-2.0, 2.0]")
    for flag in ("incremental_output", "enable_search", "enable_thinking"):
        if params.get(flag) is not None and not isinstance(params[flag], bool):
            raise invalid_parameter(f"The {flag} parameter must be a boolean")


def validate(call: ServiceCall) -> GenerationRequest:
    """The rules after the gateway's: model, input, parameters, input length, inspection."""
    spec = MODELS.get(call.model)
    if spec is None:
        raise invalid_parameter("Model not exist.")
    pairs = _messages(call.input)
    params = call.parameters
    _check_parameters(params)
    max_tokens = params.get("max_tokens", spec.max_output_tokens)
    if not (is_int(max_tokens) and 1 <= max_tokens <= spec.max_output_tokens):
        raise invalid_parameter(f"Range of max_tokens should be [1, {spec.max_output_tokens}]")
    stops = _stops(params.get("stop"))
    result_format = params.get("result_format", spec.result_format)
    if result_format not in ("text", "message"):
        raise invalid_parameter('The result_format parameter must be "text" or "message"')
    if params.get("enable_thinking") is True and result_format != "message":
        raise invalid_parameter('The result_format parameter must be "message" when enable_thinking is true')
    contents = [content for _, content in pairs]
    if sum(len(tokens(content)) for content in contents) > spec.max_input_tokens:
        raise invalid_parameter(f"Range of input length should be [1, {spec.max_input_tokens}]")
    if any(INSPECT_TRIGGER in content for content in contents):
        raise ServiceError(400, "DataInspectionFailed", "Input data may contain inappropriate content.")
    question = next(content for role, content in reversed(pairs) if role == "user")
    incremental = params.get("incremental_output", spec.incremental_output)
    return GenerationRequest(call.model, contents, question, result_format, incremental, max_tokens, stops)


def _usage(reply: Reply, output_tokens: int) -> dict[str, int]:
    return {
        "total_tokens": reply.input_tokens + output_tokens,
        "input_tokens": reply.input_tokens,
        "output_tokens": output_tokens,
    }


def _output(result_format: str, text: str, finish_reason: str) -> dict[str, Any]:
    if result_format == "message":
        message = {"content": text, "role": "assistant"}
        return {"choices": [{"message": message, "finish_reason": finish_reason}]}
    return {"finish_reason": finish_reason, "text": text}


def response_body(request: GenerationRequest, reply: Reply, request_id: str) -> dict[str, Any]:
    """The non-streamed answer, keyed as in the recordings."""
    output_tokens = len(reply.pieces)
    usage: dict[str, Any] = {
        "total_tokens": reply.input_tokens + output_tokens,
        "output_tokens": output_tokens,
        "input_tokens": reply.input_tokens,
    }
    if request.result_format == "message":
        message = {"role": "assistant", "content": reply.text}
        output: dict[str, Any] = {"choices": [{"finish_reason": reply.finish_reason, "message": message}]}
    else:
        output = {"finish_reason": reply.finish_reason, "text": reply.text}
        usage = {"prompt_tokens_details": {"cached_tokens": 0}, **usage}
    return {"output": output, "usage": usage, "request_id": request_id}


async def stream_events(
    request: GenerationRequest, reply: Reply, request_id: str, pause: float, fail_midway: bool
) -> AsyncIterator[bytes]:
    """The SSE events of a reply: 4 tokens each, then the final one with the finish reason
    (or, with ``fail_midway``, an ``InternalError`` event after at most two)."""
    chunks = [reply.pieces[i : i + CHUNK_TOKENS] for i in range(0, len(reply.pieces), CHUNK_TOKENS)]
    if fail_midway:
        chunks = chunks[:2]
    sent, so_far = 0, ""
    number = 0
    for number, chunk in enumerate(chunks, start=1):
        if number > 1:
            await anyio.sleep(pause)
        sent += len(chunk)
        so_far += "".join(chunk)
        text = "".join(chunk) if request.incremental_output else so_far
        data = {"output": _output(request.result_format, text, "null"), "usage": _usage(reply, sent)}
        yield sse_event(number, "result", 200, {**data, "request_id": request_id})
    await anyio.sleep(pause)
    if fail_midway:
        yield error_event(number + 1, _INTERNAL, request_id)
        return
    last = "" if request.incremental_output else reply.text
    data = {"output": _output(request.result_format, last, reply.finish_reason), "usage": _usage(reply, sent)}
    yield sse_event(number + 1, "result", 200, {**data, "request_id": request_id})


async def generation(request: Request) -> Response:
    state, call = await read_sync_call(request)
    streaming = wants_sse(request)
    try:
        validated = validate(call)
    except ServiceError as refused:
        if streaming:
            return sse_error_response(refused)
        raise
    reply = generate(validated)
    fail_midway = any(STREAM_ERROR_TRIGGER in content for content in validated.contents)
    request_id = new_request_id()
    if not streaming:
        if fail_midway:
            raise _INTERNAL
        return json_response(response_body(validated, reply, request_id))
    pause = state.config.stream_chunk_seconds
    return sse_response(stream_events(validated, reply, request_id, pause, fail_midway), request_id)


ROUTES = [Route(f"{API_PREFIX}/services/{SERVICE}", generation, methods=["POST"])]
