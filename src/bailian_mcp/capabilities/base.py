"""How a capability is declared: the one description every face (MCP tool, CLI subcommand, batch section) derives from.

A capability is data plus small functions:

    name, title, summary, description      what it is called and how it is explained (face-neutral words)
    params_model                           its parameters (a `Params` model): the tool's input schema, the
                                           command's options and a batch task's keys all come from it
    command, group, batch_sections         where the faces serve it: the CLI subcommand, the BAILIAN_TOOLS
                                           group, the batch sections besides `<name>_tasks`
    pacing, product                        how its submissions are paced, and whether its product is text
                                           (printed alone on stdout by the CLI) or files
    build                                  validate the parameters and make the request for the chosen model
    parse                                  read a finished DashScope task (for the models served as tasks)

How a request is answered is the model's (`catalog.Endpoint`): a request without `exchange` is submitted as a
DashScope task (submit, poll, `parse` the results); a request with one is answered within one exchange (a JSON
call, an SSE stream, a WebSocket session), which `exchange` runs. One capability may have models of both kinds.
The runner does the rest: job record, upload of local inputs, submission, waiting, downloads, result.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError, model_validator

from bailian_mcp.catalog import ModelSpec
from bailian_mcp.dashscope.client import DashScopeClient, TaskSnapshot
from bailian_mcp.errors import InputError
from bailian_mcp.jobs.results import ErrorInfo, OutputFile

ToolGroup = Literal["image", "text", "video", "audio"]
"""The BAILIAN_TOOLS group a capability's tool belongs to (the job tools form the group `tasks`)."""

Pacing = Literal["model", "image"]
"""How submissions are paced: `model`, at each model's catalogue rate; `image`, at BAILIAN_IMAGE_RPS when it is set."""

Product = Literal["files", "text"]
"""What a job makes for its caller: files (images, clips, audio), or text (an answer, a transcript)."""


class Params(BaseModel):
    """Base for capability parameters: unknown names are errors, not silently dropped; an optional parameter (one
    whose default is None) given as blank text or an empty list is not given (clients that must send every parameter,
    strict function calling among them, send those for "nothing")."""

    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _blank_is_not_given(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        optional = {name for name, info in cls.model_fields.items() if info.default is None}
        return {name: value for name, value in data.items() if not (name in optional and _blank(value))}


def _blank(value: Any) -> bool:
    return (isinstance(value, str) and not value.strip()) or (isinstance(value, list) and not value)


P = TypeVar("P", bound=BaseModel)


def parse_params(model: type[P], data: Mapping[str, Any]) -> P:
    """Raw arguments from any face (tool, CLI, batch) as `model`, or an InputError naming every problem."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        raise InputError.from_validation(exc, model.model_fields) from None


@dataclass(frozen=True)
class BuildContext:
    region: str
    input_roots: Sequence[Path] = ()


@dataclass(frozen=True)
class Request:
    """A validated request, ready to send: everything the runner needs and nothing more.

    `body` may hold `inputs.LocalFile` placeholders; the runner uploads them and puts their
    `oss://` URLs in their place just before sending. `exchange` is set for a request answered within
    one exchange, and runs it; without it, the request creates a DashScope task.

    A request with `parts` is one job made of several DashScope tasks, one per part (several files for a model
    that takes one per task): each part is recorded just before it is sent, and the parts' outputs, in order,
    are the job's. A part's `source` names the input it stands for (its outputs' `source`).

    `usage` is what DashScope will bill for it, in the words of its `usage` (`image_count`, `duration` …), as far
    as it is known before sending; None where it is not (tokens, seconds of audio). The model's price turns it
    into the job's quote (`jobs.quotes`).
    """

    model: ModelSpec
    path: str
    body: dict[str, Any]
    headers: Mapping[str, str] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()
    exchange: Exchange | None = None
    parts: tuple[Request, ...] = ()
    source: str | None = None
    usage: Mapping[str, Any] | None = None

    def with_body(self, body: dict[str, Any], headers: Mapping[str, str]) -> Request:
        """The same request with another body and headers (its local files uploaded)."""
        return replace(self, body=body, headers=headers)


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
    """What an exchange may use: the client, a progress line, where to save files it receives, and where to
    hand each new piece of generated text as it arrives (the CLI prints it)."""

    client: DashScopeClient
    progress: Callable[[str], Awaitable[None]]
    output_path: Callable[[int, str], Path]
    text: Callable[[str], Awaitable[None]] = _ignore_text
    # Where a piece of a longer result is kept by key (see OutputFolder.piece_path); None: pieces are not kept.
    piece_path: Callable[[str, str], Path] | None = None
    max_download_bytes: int = 2**40


Exchange = Callable[[ExchangeContext, Request], Awaitable[Outcome]]


@dataclass(frozen=True, kw_only=True)
class Capability:
    """What a capability declares (see the module docstring)."""

    name: str
    title: str
    summary: str  # when to use it, in a sentence or two (the tool description)
    description: str  # the full help, in words that hold for every face (no tool or command names)
    params_model: type[Params]
    build: Callable[[Any, BuildContext], Request]  # takes a validated params_model
    file_suffix: str  # of a saved output whose URL does not tell
    command: str  # the CLI subcommand, e.g. text2image
    group: ToolGroup
    batch_sections: tuple[str, ...] = ()  # batch sections besides `<name>_tasks` (the brief's image_tasks, ...)
    pacing: Pacing = "model"
    product: Product = "files"
    parse: Callable[[TaskSnapshot], list[OutputFile]] | None = None  # reads a task's results
    # Runs on the saved outputs (e.g. reads transcripts out of their JSON files).
    finish: Callable[[list[OutputFile]], list[OutputFile]] | None = None

    @property
    def sections(self) -> tuple[str, ...]:
        """Every batch section that holds this capability's tasks."""
        return (f"{self.name}_tasks", *self.batch_sections)

    def read_task(self, snapshot: TaskSnapshot) -> list[OutputFile]:
        """The outputs of a finished task of this capability."""
        if self.parse is None:
            raise TypeError(f"{self.name} runs no DashScope tasks")
        return self.parse(snapshot)
