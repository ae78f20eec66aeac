"""How a capability is declared: data plus two small functions.

A capability is a `Params` model (the one declaration every face derives from: MCP
tool schema, CLI options, batch entries), `build` (validate and make the request) and
a second function that reads the answer: `parse` for DashScope's async task protocol,
`execute` for everything answered within one exchange (a JSON call, an SSE stream, a
WebSocket session). The runner does the rest: job record, upload of local inputs,
submission, waiting, downloads, result.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Generic, Protocol, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError

from bailian_mcp.catalog import ImageModel, ModelSpec, VideoModel
from bailian_mcp.dashscope.client import DashScopeClient, TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.results import ErrorInfo, OutputFile


class Params(BaseModel):
    """Base for capability parameters: unknown names are errors, not silently dropped."""

    model_config = ConfigDict(extra="forbid")


P = TypeVar("P", bound=BaseModel)


def parse_params(model: type[P], data: Mapping[str, Any]) -> P:
    """Raw arguments from any face (tool, CLI, batch) as `model`, or an InputError naming every problem."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError.from_validation(exc, model.model_fields) from None


def json_list(text: str) -> list[Any] | None:
    """The list a string holds as JSON text (some clients, Claude Desktop among them, send list arguments that
    way), or None when it is not a JSON list."""
    stripped = text.strip()
    if not stripped.startswith("["):
        return None
    try:
        decoded = json.loads(stripped)
    except (json.JSONDecodeError, RecursionError):
        return None
    return decoded if isinstance(decoded, list) else None


class PromptedParams(Protocol):
    """The parameters every prompted generation (an image, a clip) has."""

    prompt: str
    negative_prompt: str
    prompt_extend: bool
    watermark: bool
    seed: int | None


def prompted_body(
    params: PromptedParams, model: ImageModel | VideoModel, context: BuildContext, *, what: str, **parameters: Any
) -> tuple[dict[str, Any], list[str]]:
    """The body of a prompted generation: `input` (the prompt, and negative_prompt when given) and `parameters`
    (the given ones, then prompt_extend, watermark and the seed when there is one); and its warnings.

    A prompt longer than the model reads is allowed (the brief offers more than some models read): the
    service truncates it, and the warning says so.
    """
    text = params.prompt.strip()
    if not text:
        raise InputError("prompt", params.prompt, f"describe {what} in at least one non-blank character")
    warnings = []
    if len(text) > model.prompt_max:
        warnings.append(f"The prompt has {len(text)} characters; {model.name} reads only the first {model.prompt_max}.")
    body_input: dict[str, Any] = {"prompt": text}
    if params.negative_prompt.strip():
        body_input["negative_prompt"] = params.negative_prompt.strip()
    parameters.update(prompt_extend=params.prompt_extend, watermark=params.watermark)
    if params.seed is not None:
        parameters["seed"] = params.seed
    return {"model": model.wire_name(context.region), "input": body_input, "parameters": parameters}, warnings


@dataclass(frozen=True)
class BuildContext:
    region: str
    input_roots: Sequence[Path] = ()


@dataclass(frozen=True)
class Request:
    """A validated request, ready to send: everything the runner needs and nothing more.

    `body` may hold `inputs.LocalFile` placeholders; the runner uploads them and puts their
    `oss://` URLs in their place just before sending.
    """

    model: ModelSpec
    path: str
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class CapabilityBase(Generic[P]):
    """What every capability has: its name, its texts, its parameters and how they become a request."""

    name: str
    title: str
    summary: str  # the tool description: when to use it, in a sentence or two
    description: str  # the full help (bailian://help/{name})
    params_model: type[P]
    build: Callable[[P, BuildContext], Request]
    file_suffix: str  # of a saved output whose URL does not tell


@dataclass(frozen=True)
class AsyncTaskCapability(CapabilityBase[P]):
    """A capability served by DashScope's async task protocol (submit, poll, fetch results)."""

    parse: Callable[[TaskSnapshot], list[OutputFile]] = field(kw_only=True)
    # Runs on the saved outputs (e.g. reads transcripts out of their JSON files).
    finish: Callable[[list[OutputFile]], list[OutputFile]] | None = None


@dataclass
class Outcome:
    """What a direct exchange produced."""

    outputs: list[OutputFile] = field(default_factory=list)
    usage: dict[str, Any] = field(default_factory=dict)
    text: str | None = None
    finish_reason: str | None = None
    error: ErrorInfo | None = None  # the exchange failed part-way; what it produced is kept


async def _ignore_text(piece: str) -> None:
    return None


@dataclass(frozen=True)
class ExchangeContext:
    """What `execute` may use: the client, a progress line, where to save files it receives, and where to
    hand each new piece of generated text as it arrives (the CLI prints it)."""

    client: DashScopeClient
    progress: Callable[[str], Awaitable[None]]
    output_path: Callable[[int, str], Path]
    text: Callable[[str], Awaitable[None]] = _ignore_text


@dataclass(frozen=True)
class DirectCapability(CapabilityBase[P]):
    """A capability DashScope answers within one exchange: a JSON call, an SSE stream or a WebSocket session."""

    execute: Callable[[ExchangeContext, Request], Awaitable[Outcome]] = field(kw_only=True)


Capability = AsyncTaskCapability[Any] | DirectCapability[Any]
