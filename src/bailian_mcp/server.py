"""The MCP face: one tool per capability, derived from its Params model, plus the task tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, cast

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.server.mcpserver.tools.base import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp.types import CallToolResult, ToolAnnotations
from pydantic import BaseModel, ConfigDict, Field, create_model
from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from bailian_mcp import __version__
from bailian_mcp.capabilities import ASYNC_CAPABILITIES
from bailian_mcp.capabilities.base import AsyncTaskCapability
from bailian_mcp.config import Settings
from bailian_mcp.errors import BailianError
from bailian_mcp.results import JobResult
from bailian_mcp.runner import ProgressCallback
from bailian_mcp.runtime import Services, open_services
from bailian_mcp.tool_results import to_call_tool_result

INSTRUCTIONS = (
    "Alibaba Bailian (DashScope) generation models. Generation tools wait up to wait_seconds and return "
    "files (saved locally, with a small preview and their URLs). If a result says done=false, the job is "
    "still running and already paid for: call get_task with its job_id instead of generating again."
)

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


class StrictArguments(ArgModelBase):
    """Tool arguments: an unknown argument name is an error the caller sees, not silently dropped."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)


def _arguments_model(name: str, params: type[BaseModel], settings: Settings) -> type[StrictArguments]:
    """The tool's arguments: the capability's parameters plus `wait_seconds`."""
    model = create_model(f"{name}Arguments", __base__=(StrictArguments, params), wait_seconds=_wait_field(settings))
    return cast(type[StrictArguments], model)


def _make_tool(
    name: str,
    title: str,
    description: str,
    arguments: type[StrictArguments],
    annotations: ToolAnnotations,
    fn: Callable[..., Awaitable[CallToolResult]],
) -> Tool:
    return Tool(
        fn=fn,
        name=name,
        title=title,
        description=description,
        parameters=arguments.model_json_schema(by_alias=True, schema_generator=ClientFriendlySchema),
        fn_metadata=FuncMetadata(arg_model=arguments, output_model=JobResult),
        is_async=True,
        context_kwarg="ctx",
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


def generation_tool(capability: AsyncTaskCapability[Any], settings: Settings) -> Tool:
    async def generate(ctx: Context, wait_seconds: int, **arguments: Any) -> CallToolResult:
        services = _services(ctx)
        try:
            params = capability.params_model.model_validate(arguments)
            result = await services.runner.run(capability, params, wait_seconds=wait_seconds, progress=_progress(ctx))
        except BailianError as exc:
            raise ToolError(str(exc)) from exc
        return await to_call_tool_result(result, services.settings)

    arguments = _arguments_model(capability.name, capability.params_model, settings)
    return _make_tool(capability.name, capability.title, capability.description, arguments, GENERATE, generate)


class _TaskHandle(BaseModel):
    task_id: str = Field(min_length=1, description="The job_id or DashScope task_id a generation tool returned.")


def get_task_tool(settings: Settings) -> Tool:
    async def get_task(ctx: Context, task_id: str, wait_seconds: int) -> CallToolResult:
        services = _services(ctx)
        try:
            result = await services.runner.resume(task_id, wait_seconds=wait_seconds, progress=_progress(ctx))
        except BailianError as exc:
            raise ToolError(str(exc)) from exc
        return await to_call_tool_result(result, services.settings)

    return _make_tool(
        "get_task",
        "Get task",
        "Check on a generation job by job_id or task_id: waits up to wait_seconds for it to finish, then "
        "returns the same result a generation tool returns (files, preview, URLs). Re-saves files that went "
        "missing. Never creates or pays for anything.",
        _arguments_model("get_task", _TaskHandle, settings),
        FOLLOW,
        get_task,
    )


def build_server(settings: Settings) -> MCPServer[Services]:
    """The MCP server for these settings; its lifespan opens the client and the job store."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Services]) -> AsyncIterator[Services]:
        async with open_services(settings) as services:
            yield services

    tools = [generation_tool(c, settings) for c in ASYNC_CAPABILITIES.values()]
    tools.append(get_task_tool(settings))
    return MCPServer(
        "bailian-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=tools,
    )
