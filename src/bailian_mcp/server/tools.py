"""The MCP tools: one per capability, derived from its declaration, plus the tools that look after jobs.

Every tool validates its raw arguments itself with `parse_params` (a tool, the CLI and the batch
runner all check input in the capability's one place, in the same words), and publishes a schema
every MCP client accepts.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, InputRequiredResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator

from bailian_mcp import catalog
from bailian_mcp.capabilities.base import Capability, parse_params
from bailian_mcp.config import Settings
from bailian_mcp.errors import BailianError
from bailian_mcp.jobs import admin
from bailian_mcp.jobs.params import ListModelsParams, ListTasksParams, TaskHandle
from bailian_mcp.jobs.quotes import ConfirmationNeeded
from bailian_mcp.jobs.results import JobResult, TaskList
from bailian_mcp.jobs.runner import ProgressCallback
from bailian_mcp.jobs.services import Services
from bailian_mcp.jobs.summary import model_line, task_list_text
from bailian_mcp.server.confirmation import can_ask, confirmed
from bailian_mcp.server.content import to_call_tool_result
from bailian_mcp.server.schemas import input_schema, output_schema
from bailian_mcp.server.services import services_of
from bailian_mcp.server.wording import MCP_WORDS

GENERATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
FOLLOW = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
ADMIN = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
CANCEL = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)

WAIT_ARGUMENT = "wait_seconds"
CONTEXT_ARGUMENT = "ctx"


class RawArguments(ArgModelBase):
    """Hands a tool body its arguments exactly as sent. The body validates them with `parse_params`, so a
    tool, the CLI and the batch runner all report bad input in the same words."""

    model_config = ConfigDict(extra="allow")

    @model_validator(mode="before")
    @classmethod
    def _no_reserved_name(cls, data: Any) -> Any:
        # The tool body receives the MCP context under this name; an argument of that name would be dropped.
        if isinstance(data, dict) and CONTEXT_ARGUMENT in data:
            raise ValueError(f"there is no such parameter: {CONTEXT_ARGUMENT!r}")
        return data

    def model_dump_one_level(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


@dataclass(frozen=True)
class CallOptions:
    """How a call is made, beside what it asks for: the tools that wait take `wait_seconds`; the generation tools
    `dry_run`, and `confirm` when BAILIAN_CONFIRM_ABOVE_CNY is set."""

    wait_seconds: int = 0
    dry_run: bool = False
    confirm: bool = False


@functools.cache
def _options_model(wait_default: int, *, generation: bool, confirming: bool) -> type[BaseModel]:
    """The options a tool takes, `wait_seconds` defaulting to the settings' wait (BAILIAN_WAIT_SECONDS)."""
    fields: dict[str, Any] = {WAIT_ARGUMENT: (int, Field(wait_default, ge=0, le=600))}  # the instructions say how
    if generation:
        fields["dry_run"] = (bool, Field(False, description="Price only; send nothing."))
    if confirming:
        fields["confirm"] = (bool, Field(False, description="The user agreed to its quoted cost."))
    model: type[BaseModel] = create_model("CallOptions", **fields)
    return model


def published(params: type[BaseModel], options: type[BaseModel] | None) -> dict[str, Any]:
    """The input schema a tool publishes: its parameters, plus its call options."""
    schema = input_schema(params)
    if options is not None:
        schema["properties"].update(input_schema(options)["properties"])
    return schema


def _split(raw: Mapping[str, Any], options: type[BaseModel]) -> tuple[CallOptions, dict[str, Any]]:
    """The validated call options and the other arguments."""
    names = set(options.model_fields)
    given = parse_params(options, {name: value for name, value in raw.items() if name in names})
    return CallOptions(**given.model_dump()), {name: value for name, value in raw.items() if name not in names}


@functools.cache
def _metadata(output_model: type[BaseModel]) -> FuncMetadata:
    """One FuncMetadata per result type, shared by the tools that return it (its output schema is built once)."""
    return FuncMetadata(arg_model=RawArguments, output_model=output_model, output_schema=output_schema(output_model))


def make_tool(
    name: str,
    title: str,
    description: str,
    schema: dict[str, Any],
    annotations: ToolAnnotations,
    fn: Callable[..., Awaitable[CallToolResult | InputRequiredResult]],
    output_model: type[BaseModel] = JobResult,
) -> Tool:
    return Tool(
        fn=fn,
        name=name,
        title=title,
        description=description,
        parameters=schema,
        fn_metadata=_metadata(output_model),
        is_async=True,
        context_kwarg=CONTEXT_ARGUMENT,
        annotations=annotations,
    )


def _progress(ctx: Context) -> ProgressCallback:
    async def report(progress: float, message: str) -> None:
        await ctx.report_progress(progress, None, message)

    return report


Answer = Callable[[Services, dict[str, Any], Context], Awaitable[CallToolResult | InputRequiredResult]]


def tool_body(answer: Answer) -> Callable[..., Awaitable[CallToolResult | InputRequiredResult]]:
    """A tool body: `answer` run on the raw arguments; a BailianError becomes the tool's error, in MCP words. (An
    InputRequiredResult asks the client a question: it calls the tool again with the answer.)"""

    async def body(ctx: Context, **raw: Any) -> CallToolResult | InputRequiredResult:
        try:
            return await answer(services_of(ctx), raw, ctx)
        except BailianError as exc:
            raise ToolError(MCP_WORDS.error(exc)) from exc

    return body


async def job_content(services: Services, result: JobResult) -> CallToolResult:
    return await to_call_tool_result(MCP_WORDS.result(result), services.settings)


def generation_tool(capability: Capability, settings: Settings) -> Tool:
    options_model = _options_model(
        settings.wait_seconds, generation=True, confirming=settings.confirm_above_cny is not None
    )

    async def generate(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult | InputRequiredResult:
        options, arguments = _split(raw, options_model)
        params = parse_params(capability.params_model, arguments)

        async def run(confirmed: bool) -> JobResult:
            return await services.runner.run(
                capability,
                params,
                wait_seconds=options.wait_seconds,
                progress=_progress(ctx),
                dry_run=options.dry_run,
                confirmed=confirmed,
            )

        try:  # a client that can ask the user is made to: the model's own confirm=true does not stand in for them
            result = await run(options.confirm and not can_ask(ctx))
        except ConfirmationNeeded as needed:
            if not can_ask(ctx):
                raise
            answer = await confirmed(ctx, needed, raw)
            if isinstance(answer, InputRequiredResult):
                return answer
            if not answer:
                raise BailianError(f"Not sent: the user did not confirm it ({needed.cost.amount:g} CNY).") from None
            result = await run(True)
        return await job_content(services, result)

    description = f"{capability.summary} Limits: list_models."
    if _outlasts(capability, settings.wait_seconds):
        description += " Usually returns a job_id for get_task."
    return make_tool(
        capability.name,
        capability.title,
        description,
        published(capability.params_model, options_model),
        GENERATE,
        tool_body(generate),
    )


def _outlasts(capability: Capability, wait_seconds: float) -> bool:
    """Whether even the capability's quickest model usually takes longer than a call waits."""
    durations = [m.typical_seconds for m in catalog.models_for(capability.name)]
    return bool(durations) and min(durations) > wait_seconds


def get_task_tool(settings: Settings) -> Tool:
    options_model = _options_model(settings.wait_seconds, generation=False, confirming=False)

    async def get_task(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        options, arguments = _split(raw, options_model)
        handle = parse_params(TaskHandle, arguments).task_id
        result = await services.runner.resume(handle, wait_seconds=options.wait_seconds, progress=_progress(ctx))
        return await job_content(services, result)

    return make_tool(
        "get_task",
        "Get task",
        "Wait for a job (job_id or task_id) and return its result as its generation tool would; saves missing files "
        "again. Never pays for anything.",
        published(TaskHandle, options_model),
        FOLLOW,
        tool_body(get_task),
    )


def list_tasks_tool() -> Tool:
    async def list_tasks(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        arguments = parse_params(ListTasksParams, raw)
        listing = MCP_WORDS.listing(
            await admin.list_jobs(
                services.store, services.client, budget_cny=services.settings.budget_cny, **arguments.model_dump()
            )
        )
        return CallToolResult(
            content=[TextContent(type="text", text=task_list_text(listing))],
            structured_content=listing.model_dump(mode="json"),
        )

    return make_tool(
        "list_tasks",
        "List tasks",
        "This server's jobs and DashScope's tasks of the last 24 h, newest first, with status and cost: find a job to "
        "resume with get_task rather than generate again.",
        published(ListTasksParams, None),
        ADMIN,
        tool_body(list_tasks),
        TaskList,
    )


def cancel_task_tool() -> Tool:
    async def cancel_task(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        handle = parse_params(TaskHandle, raw).task_id
        return await job_content(services, await admin.cancel_job(services.store, services.client, handle))

    return make_tool(
        "cancel_task",
        "Cancel task",
        "Cancel a job (job_id or task_id) while its task is PENDING (nothing charged); a running task finishes and "
        "get_task collects it.",
        published(TaskHandle, None),
        CANCEL,
        tool_body(cancel_task),
    )


class ModelList(BaseModel):
    models: list[dict[str, Any]]


def list_models_tool() -> Tool:
    async def list_models(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        arguments = parse_params(ListModelsParams, raw)
        region = None if arguments.all_regions else services.settings.region
        models = catalog.catalogue(arguments.capability, region=region)
        lines = [f"{m['capability']}: {model_line(m)}" for m in models]
        return CallToolResult(
            content=[TextContent(type="text", text="\n".join(lines) or f"No such model in {region or 'any region'}.")],
            structured_content={"models": models},
        )

    return make_tool(
        "list_models",
        "List models",
        "Each tool's models in this server's region: limits (sizes, counts, lengths), voices, prices.",
        published(ListModelsParams, None),
        READ_ONLY,
        tool_body(list_models),
        ModelList,
    )


JOB_TOOLS = ("get_task", "list_tasks", "cancel_task", "list_models")


def job_tools(settings: Settings) -> list[Tool]:
    """The tools that look after jobs and the catalogue (the group `tasks`), named as in JOB_TOOLS."""
    return [get_task_tool(settings), list_tasks_tool(), cancel_task_tool(), list_models_tool()]
