"""Text generation: the Qwen models over the native text-generation endpoint, streamed (SSE).

The request is always the `messages` form with `result_format: message` and
`incremental_output: true` (protocol §4): each event carries the next piece of the answer
and the usage so far, and the last one says why it stopped (`stop`, `length`). Streaming
keeps a long answer from hitting an HTTP timeout and lets the runner report progress; if
the stream breaks after some text has arrived, that text is kept in the result.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Mapping
from contextlib import aclosing
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from pydantic_core import PydanticCustomError

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import BuildContext, Capability, ExchangeContext, Outcome, Params, Request
from bailian_mcp.capabilities.fields import SEED_MAX, Lean, list_from_text, model_field, per_model
from bailian_mcp.catalog import TEXT_GENERATION, ModelSpec, TextModel
from bailian_mcp.dashscope import errors
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.results import ErrorInfo

NAME = "text_to_text"
PATH = TEXT_GENERATION.path
TEXT_MODELS = [m for m in catalog.models_for(NAME) if isinstance(m, TextModel)]
LONGEST_WRITER = max(TEXT_MODELS, key=lambda m: m.max_output_tokens)
MAX_OUTPUT_TOKENS = LONGEST_WRITER.max_output_tokens
DEFAULT_MAX_TOKENS = 1500  # the brief's default; the service's own default is the model's maximum
# One message is at most this many characters. About the input window of the smallest model here
# (qwen-max: 30 720 tokens, and a Chinese character is about one token), so a prompt that passes
# never overflows a window on its own, while staying a size MCP clients and agents pass comfortably.
TEXT_MAX = 30_000
TURNS_MAX = 100
PROGRESS_INTERVAL = 0.5  # seconds between progress reports while text streams in
USAGE_KEYS = ("input_tokens", "output_tokens", "total_tokens")


def _output_limit(model: ModelSpec) -> int:
    assert isinstance(model, TextModel)
    return model.max_output_tokens


class ChatMessage(BaseModel):
    """One earlier turn of the conversation."""

    model_config = ConfigDict(extra="forbid")

    role: Literal["user", "assistant"] = Field(
        description="'user' for what the user said, 'assistant' for what the model answered."
    )
    content: str = Field(max_length=TEXT_MAX, description="The text of the turn (not empty).")

    @field_validator("role", mode="before")
    @classmethod
    def _known_role(cls, value: Any) -> Any:
        if value == "system":
            raise PydanticCustomError(
                "role", "a system prompt goes in the `system` parameter; messages holds only user and assistant turns"
            )
        if value not in ("user", "assistant"):
            raise PydanticCustomError("role", "role must be 'user' or 'assistant'")
        return value

    @field_validator("content")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        if not value.strip():
            raise PydanticCustomError("content", "content must be non-empty text")
        return value


class TextToTextParams(Params):
    prompt: Annotated[
        str,
        Field(
            min_length=1,
            max_length=TEXT_MAX,
            description=f"The user's message: the question, instruction or text to work on (up to {TEXT_MAX} "
            "characters).",
        ),
        Lean("The user message."),
    ]
    model: Annotated[str, model_field(NAME), Lean("")] = catalog.default_model(NAME)
    system: Annotated[
        str | None,
        Field(
            max_length=TEXT_MAX,
            description="System prompt: the role, tone and rules the model follows (e.g. 'You are a concise "
            "technical writer. Answer in English.').",
        ),
        Lean("System prompt."),
    ] = None
    messages: Annotated[
        list[ChatMessage] | None,
        Field(
            max_length=TURNS_MAX,
            description="Earlier turns of the conversation, oldest first, to continue it: a list of "
            "{role: 'user'|'assistant', content} objects. The prompt is sent after them as the newest user turn.",
        ),
        Lean("Earlier turns, oldest first."),
    ] = None
    max_tokens: Annotated[
        int,
        Field(
            ge=1,
            le=MAX_OUTPUT_TOKENS,
            description=f"Longest answer, in tokens (default {DEFAULT_MAX_TOKENS}; at most "
            f"{per_model(NAME, _output_limit)}). "
            "A Chinese character is about one token, an English word about 1.3. When the answer is cut here, "
            "finish_reason is 'length'.",
        ),
        Lean("Longest answer, in tokens."),
    ] = DEFAULT_MAX_TOKENS
    temperature: Annotated[
        float | None,
        Field(
            allow_inf_nan=False,
            description="Randomness, from 0 up to but not including 2: low (0-0.3) for facts and code, high "
            "(1-1.9) for varied, creative text. Leave out for the service default 0.7.",
            json_schema_extra={"minimum": 0, "exclusiveMaximum": 2},
        ),
        Lean(""),
    ] = None
    top_p: Annotated[
        float | None,
        Field(
            allow_inf_nan=False,
            description="Nucleus sampling, above 0 and at most 1: smaller keeps to the likeliest words. Leave out "
            "for the service default 0.8; change temperature or top_p, not both.",
            json_schema_extra={"exclusiveMinimum": 0, "maximum": 1},
        ),
        Lean(""),
    ] = None
    seed: Annotated[
        int | None,
        Field(
            ge=0,
            le=SEED_MAX,
            description=f"Random seed 0-{SEED_MAX}: the same seed and parameters give much the same answer. "
            "Leave out for the service's default.",
        ),
        Lean(""),
    ] = None
    stop: Annotated[
        str | list[str] | None,
        Field(
            description="Stop generating just before this text appears: one string, or a list of strings "
            "(e.g. ['\\n\\n', 'END']). The stop text itself is not included.",
        ),
        Lean("Stop before this text (a string or a list)."),
    ] = None
    enable_search: Annotated[
        bool,
        Field(description="Let the model search the web for current information before answering."),
        Lean("Search the web before answering."),
    ] = False

    _messages_as_list = field_validator("messages", mode="before")(
        list_from_text(
            otherwise="error", what="a list of role/content objects", example='[{"role": "user", "content": "hi"}]'
        )
    )

    @field_validator("temperature")
    @classmethod
    def _temperature_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 <= value < 2:
            raise PydanticCustomError(
                "temperature",
                "temperature must be in [0, 2): at least 0 and below 2 (DashScope rejects 2.0 itself); "
                "e.g. 0.2 for facts, 1.2 for creative text, leave out for the default 0.7",
            )
        return value

    @field_validator("top_p")
    @classmethod
    def _top_p_range(cls, value: float | None) -> float | None:
        if value is not None and not 0 < value <= 1:
            raise PydanticCustomError(
                "top_p", "top_p must be in (0, 1]: above 0 and at most 1; leave out for the default 0.8"
            )
        return value

    _stop_as_list = field_validator("stop", mode="before")(list_from_text(otherwise="keep"))

    @field_validator("stop")
    @classmethod
    def _stop_not_empty(cls, value: str | list[str] | None) -> str | list[str] | None:
        if value is None:
            return None
        items = [value] if isinstance(value, str) else value
        if not items or any(not item for item in items):
            raise PydanticCustomError("stop", "give a non-empty string, or a list of non-empty strings")
        return value


def build(params: TextToTextParams, context: BuildContext) -> Request:
    model = catalog.resolve_in_region(NAME, params.model, context.region, TextModel)
    prompt = params.prompt.strip()
    if not prompt:
        raise InputError("prompt", params.prompt, "write the message in at least one non-blank character")
    if params.max_tokens > model.max_output_tokens:
        raise InputError(
            "max_tokens",
            params.max_tokens,
            f"{model.name} writes at most {model.max_output_tokens} tokens per answer: use 1-{model.max_output_tokens}"
            + ("" if model is LONGEST_WRITER else f" ({LONGEST_WRITER.name} allows up to {MAX_OUTPUT_TOKENS})"),
        )
    messages: list[dict[str, str]] = []
    system = (params.system or "").strip()
    if system:
        messages.append({"role": "system", "content": system})
    messages.extend({"role": turn.role, "content": turn.content} for turn in params.messages or [])
    messages.append({"role": "user", "content": prompt})
    parameters: dict[str, Any] = {
        "result_format": "message",
        "incremental_output": True,
        "max_tokens": params.max_tokens,
    }
    optional = {"temperature": params.temperature, "top_p": params.top_p, "seed": params.seed, "stop": params.stop}
    parameters.update({name: value for name, value in optional.items() if value is not None})
    if params.enable_search:
        parameters["enable_search"] = True
    body = {"model": model.wire_name(context.region), "input": {"messages": messages}, "parameters": parameters}
    return Request(model=model, path=PATH, body=body, exchange=execute)


def read_event(data: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """The text an event carries (None when it has none) and its finish reason (None while generating).

    Reads both result formats: `message` (`output.choices[0].message.content`) and `text`
    (`output.text`). DashScope sends the string "null" as the finish reason until the last event.
    """
    output = data.get("output") or {}
    choices = output.get("choices")
    if isinstance(choices, list) and choices and isinstance(choices[0], Mapping):
        choice = choices[0]
        message = choice.get("message") or {}
        piece, reason = message.get("content"), choice.get("finish_reason")
    else:
        piece, reason = output.get("text"), output.get("finish_reason")
    text = piece if isinstance(piece, str) else None
    finish = None if reason in (None, "", "null") else str(reason)
    return text, finish


def read_usage(data: Mapping[str, Any]) -> dict[str, int]:
    usage = data.get("usage") or {}
    return {key: usage[key] for key in USAGE_KEYS if isinstance(usage.get(key), int)}


class _ProgressReporter:
    """Reports how much has been generated, every PROGRESS_INTERVAL seconds (a quicker answer reports nothing)."""

    def __init__(self, report: Callable[[str], Awaitable[None]]) -> None:
        self._report = report
        self._last = time.monotonic()

    async def __call__(self, usage: Mapping[str, int], text: str) -> None:
        now = time.monotonic()
        if now - self._last < PROGRESS_INTERVAL:
            return
        self._last = now
        tokens = usage.get("output_tokens")
        count, unit = (tokens, "token") if tokens else (len(text), "character")
        await self._report(f"Generated {count} {unit}{'' if count == 1 else 's'}…")


def _error_info(exc: errors.DashScopeError) -> ErrorInfo:
    if isinstance(exc, errors.DashScopeConnectionError):
        return ErrorInfo(code="ConnectionLost", message=str(exc))
    return ErrorInfo(code=exc.code or type(exc).__name__, message=exc.service_message or str(exc))


async def execute(ctx: ExchangeContext, request: Request) -> Outcome:
    """Stream the answer, reporting progress; an error after some text keeps that text in the outcome."""
    incremental = bool((request.body.get("parameters") or {}).get("incremental_output", False))
    text = ""
    usage: dict[str, int] = {}
    finish_reason: str | None = None
    progress = _ProgressReporter(ctx.progress)
    stream = ctx.client.stream(request.path, request.body, headers=request.headers, bucket=request.model.rate_bucket)
    try:
        async with aclosing(stream) as events:
            async for event in events:
                piece, reason = read_event(event)
                if piece is not None:
                    previous = text
                    text = text + piece if incremental else piece  # not incremental: the whole text so far
                    if text.startswith(previous) and len(text) > len(previous):
                        await ctx.text(text[len(previous) :])
                finish_reason = reason or finish_reason
                usage = read_usage(event) or usage
                await progress(usage, text)
    except errors.DashScopeError as exc:
        if not text:
            raise
        return Outcome(text=text, finish_reason=finish_reason, usage=usage, error=_error_info(exc))
    if finish_reason is None:
        if not text:
            raise errors.DashScopeConnectionError(
                "DashScope ended the stream without sending an answer.", request_sent=True
            )
        incomplete = ErrorInfo(
            code="IncompleteStream",
            message="the stream ended before DashScope said the answer was finished; the text may be cut short",
        )
        return Outcome(text=text, usage=usage, error=incomplete)
    return Outcome(text=text, finish_reason=finish_reason, usage=usage)


TEXT_TO_TEXT = Capability(
    name=NAME,
    title="Text generation",
    summary=(
        "Text from Qwen (qwen-plus default, qwen-turbo fast, qwen3-max best, qwen-long long inputs): answer, write, "
        "summarise, translate; a system prompt and earlier turns. Costs per token."
    ),
    description=(
        "Generate text with Alibaba's Qwen models: answer a question, write, summarise, translate, rewrite or "
        "extract. The generated text is the result's `text` (finish_reason 'length' means max_tokens cut it "
        "short: ask again with a larger max_tokens). Pick the model by the task: qwen-plus (default) for most "
        "work, qwen-turbo for quick simple jobs, qwen-max or qwen3-max for hard reasoning and careful writing, "
        "qwen-long for very long inputs. Set `system` for a role or rules, pass earlier turns in `messages` to "
        "continue a conversation. The answer streams in as it is written. Costs per input and output token (see "
        "cost)."
    ),
    params_model=TextToTextParams,
    build=build,
    file_suffix=".txt",
    command="text2text",
    group="text",
    batch_sections=("text_tasks",),
    product="text",
)
