"""The MCP tools: one per capability, derived from its Params model, plus the tools that look after jobs.

Every tool validates its raw arguments itself (`parse_params`), so that a tool, the CLI and the
batch runner word bad input the same way, and publishes a schema every MCP client accepts.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, create_model, model_validator
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from bailian_mcp import catalog, job_admin
from bailian_mcp.capabilities.base import Capability, Params, parse_params
from bailian_mcp.config import Settings
from bailian_mcp.errors import BailianError
from bailian_mcp.results import JobResult, TaskList
from bailian_mcp.runner import ProgressCallback
from bailian_mcp.runtime import Services
from bailian_mcp.tool_results import task_list_text, to_call_tool_result

GENERATE = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True)
FOLLOW = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)


class ClientFriendlySchema(GenerateJsonSchema):
    """Input schemas every MCP client accepts: an optional parameter is its plain type, left out of
    `required`, never `anyOf [T, null]` with `default: null` (Cursor and Gemini reject those)."""

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        return self.generate_inner(schema["schema"])

    def default_schema(self, schema: core_schema.WithDefaultSchema) -> JsonSchemaValue:
        if schema.get("default", ...) is None:
            return self.generate_inner(schema["schema"])
        return super().default_schema(schema)


def _wait_field(settings: Settings) -> Any:
    return (
        int,
        Field(
            settings.wait_seconds,
            ge=0,
            le=600,
            description="Seconds to wait for the result before returning a handle (keep at or below 50 for "
            "clients with a 60 s tool timeout; 0 returns at once). Continue with get_task.",
        ),
    )


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


def _arguments_model(name: str, params: type[BaseModel], settings: Settings | None) -> type[BaseModel]:
    """The tool's arguments: the given parameters (unknown names forbidden), plus `wait_seconds` for tools that
    wait (pass the settings that give its default)."""
    extra = {"wait_seconds": _wait_field(settings)} if settings is not None else {}
    model: type[BaseModel] = create_model(f"{name}Arguments", __base__=params, **extra)
    return model


@functools.cache
def _metadata(output_model: type[BaseModel]) -> FuncMetadata:
    """One FuncMetadata per result type, shared by the tools that return it (its output schema is built once)."""
    return FuncMetadata(arg_model=RawArguments, output_model=output_model)


def _make_tool(
    name: str,
    title: str,
    description: str,
    arguments: type[BaseModel],
    annotations: ToolAnnotations,
    fn: Callable[..., Awaitable[CallToolResult]],
    output_model: type[BaseModel] = JobResult,
) -> Tool:
    return Tool(
        fn=fn,
        name=name,
        title=title,
        description=description,
        parameters=arguments.model_json_schema(by_alias=True, schema_generator=ClientFriendlySchema),
        fn_metadata=_metadata(output_model),
        is_async=True,
        context_kwarg=CONTEXT_ARGUMENT,
        annotations=annotations,
    )


def _progress(ctx: Context) -> ProgressCallback:
    async def report(progress: float, message: str) -> None:
        await ctx.report_progress(progress, None, message)

    return report


def _services(ctx: Context) -> Services:
    services = ctx.request_context.lifespan_context
    assert isinstance(services, Services)
    return services


JobAction = Callable[[Services, Any, Context], Awaitable[JobResult]]


def _job_tool_body(arguments_model: type[BaseModel], action: JobAction) -> Callable[..., Awaitable[CallToolResult]]:
    """The body of a tool that answers with a job: its arguments validated, `action` run on them, its JobResult
    rendered; a BailianError becomes the tool's error."""

    async def body(ctx: Context, **raw: Any) -> CallToolResult:
        services = _services(ctx)
        try:
            result = await action(services, parse_params(arguments_model, raw), ctx)
        except BailianError as exc:
            raise ToolError(str(exc)) from exc
        return await to_call_tool_result(result, services.settings)

    return body


def generation_tool(capability: Capability, settings: Settings) -> Tool:
    arguments_model = _arguments_model(capability.name, capability.params_model, settings)

    async def generate(services: Services, arguments: Any, ctx: Context) -> JobResult:
        fields = {name: getattr(arguments, name) for name in capability.params_model.model_fields}
        params = capability.params_model.model_construct(**fields)  # validated with the arguments
        return await services.runner.run(
            capability, params, wait_seconds=arguments.wait_seconds, progress=_progress(ctx)
        )

    description = f"{capability.summary} Full help: resource bailian://help/{capability.name}."
    body = _job_tool_body(arguments_model, generate)
    return _make_tool(capability.name, capability.title, description, arguments_model, GENERATE, body)


class TaskHandle(Params):
    task_id: str = Field(min_length=1, description="The job_id or DashScope task_id a generation tool returned.")


def get_task_tool(settings: Settings) -> Tool:
    arguments_model = _arguments_model("get_task", TaskHandle, settings)

    async def get_task(services: Services, arguments: Any, ctx: Context) -> JobResult:
        return await services.runner.resume(
            arguments.task_id, wait_seconds=arguments.wait_seconds, progress=_progress(ctx)
        )

    return _make_tool(
        "get_task",
        "Get task",
        "Check on a generation job by job_id or task_id: waits up to wait_seconds for it to finish, then "
        "returns the same result a generation tool returns (files, preview, URLs). Re-saves files that went "
        "missing. Never creates or pays for anything.",
        arguments_model,
        FOLLOW,
        _job_tool_body(arguments_model, get_task),
    )


ADMIN = ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True)
CANCEL = ToolAnnotations(read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True)
READ_ONLY = ToolAnnotations(read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=False)


class ListTasksParams(Params):
    status: Annotated[
        Literal[
            "SUBMITTING",
            "SUBMIT_UNCERTAIN",
            "REJECTED",
            "PENDING",
            "RUNNING",
            "SUCCEEDED",
            "FAILED",
            "CANCELED",
            "UNKNOWN",
        ]
        | None,
        Field(description="Only jobs in this state."),
    ] = None
    capability: Annotated[str | None, Field(description="Only jobs of this tool, e.g. text_to_image.")] = None
    since_hours: Annotated[float, Field(gt=0, le=24 * 365, description="Only jobs created in the last N hours.")] = 168
    limit: Annotated[int, Field(ge=1, le=500, description="At most this many jobs, newest first.")] = 50
    include_remote: Annotated[
        bool, Field(description="Also ask DashScope for its tasks of the last 24 h and adopt unknown ones.")
    ] = True


def list_tasks_tool() -> Tool:
    arguments_model = _arguments_model("list_tasks", ListTasksParams, None)

    async def list_tasks(ctx: Context, **raw: Any) -> CallToolResult:
        services = _services(ctx)
        try:
            arguments = parse_params(ListTasksParams, raw)
            listing = await job_admin.list_jobs(services.store, services.client, **arguments.model_dump())
        except BailianError as exc:
            raise ToolError(str(exc)) from exc
        return CallToolResult(
            content=[TextContent(type="text", text=task_list_text(listing))],
            structured_content=listing.model_dump(mode="json"),
        )

    return _make_tool(
        "list_tasks",
        "List tasks",
        "List this server's generation jobs (and DashScope's tasks of the last 24 h made with the same key), newest "
        "first, with status and cost. Use it to find a job to resume with get_task instead of generating again.",
        arguments_model,
        ADMIN,
        list_tasks,
        TaskList,
    )


def cancel_task_tool() -> Tool:
    arguments_model = _arguments_model("cancel_task", TaskHandle, None)

    async def cancel_task(services: Services, arguments: Any, ctx: Context) -> JobResult:
        return await job_admin.cancel_job(services.store, services.client, arguments.task_id)

    return _make_tool(
        "cancel_task",
        "Cancel task",
        "Cancel a generation job by job_id or task_id. DashScope cancels a task only while it is still PENDING "
        "(nothing is charged then); a running task finishes anyway and get_task collects it.",
        arguments_model,
        CANCEL,
        _job_tool_body(arguments_model, cancel_task),
    )


class ListModelsParams(Params):
    capability: Annotated[str | None, Field(description="Only the models of this tool, e.g. text_to_video.")] = None


class ModelList(BaseModel):
    models: list[dict[str, Any]]


def list_models_tool() -> Tool:
    arguments_model = _arguments_model("list_models", ListModelsParams, None)

    async def list_models(ctx: Context, **raw: Any) -> CallToolResult:
        try:
            arguments = parse_params(ListModelsParams, raw)
        except BailianError as exc:
            raise ToolError(str(exc)) from exc
        models = catalog.catalogue(arguments.capability)
        lines = [
            f"{m['capability']}: {m['name']} — {m['summary']} ({m['price']}; regions {', '.join(m['regions'])})"
            for m in models
        ]
        return CallToolResult(
            content=[TextContent(type="text", text="\n".join(lines) or "No such capability.")],
            structured_content={"models": models},
        )

    return _make_tool(
        "list_models",
        "List models",
        "The models each tool offers, with their limits (sizes, counts, lengths), prices and regions.",
        arguments_model,
        READ_ONLY,
        list_models,
        ModelList,
    )
