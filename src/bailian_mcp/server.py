"""The MCP face: one tool per capability, derived from its Params model, plus the task tools."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

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
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import Capability, Params, parse_params
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


class RawArguments(ArgModelBase):
    """Hands a tool body its arguments exactly as sent. The body validates them with `parse_params`, so a
    tool, the CLI and the batch runner all report bad input in the same words."""

    model_config = ConfigDict(extra="allow")

    def model_dump_one_level(self) -> dict[str, Any]:
        return dict(self.model_extra or {})


def _arguments_model(name: str, params: type[BaseModel], settings: Settings) -> type[BaseModel]:
    """The tool's arguments: the capability's parameters (unknown names forbidden) plus `wait_seconds`."""
    model: type[BaseModel] = create_model(f"{name}Arguments", __base__=params, wait_seconds=_wait_field(settings))
    return model


def _make_tool(
    name: str,
    title: str,
    description: str,
    arguments: type[BaseModel],
    annotations: ToolAnnotations,
    fn: Callable[..., Awaitable[CallToolResult]],
) -> Tool:
    return Tool(
        fn=fn,
        name=name,
        title=title,
        description=description,
        parameters=arguments.model_json_schema(by_alias=True, schema_generator=ClientFriendlySchema),
        fn_metadata=FuncMetadata(arg_model=RawArguments, output_model=JobResult),
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


def generation_tool(capability: Capability, settings: Settings) -> Tool:
    arguments_model = _arguments_model(capability.name, capability.params_model, settings)

    async def generate(ctx: Context, **raw: Any) -> CallToolResult:
        services = _services(ctx)
        try:
            arguments = parse_params(arguments_model, raw)
            wait_seconds: int = getattr(arguments, "wait_seconds")  # noqa: B009 (a field of the derived model)
            fields = {name: getattr(arguments, name) for name in capability.params_model.model_fields}
            params = capability.params_model.model_construct(**fields)  # validated just above
            result = await services.runner.run(capability, params, wait_seconds=wait_seconds, progress=_progress(ctx))
        except BailianError as exc:
            raise ToolError(str(exc)) from exc
        return await to_call_tool_result(result, services.settings)

    return _make_tool(capability.name, capability.title, capability.description, arguments_model, GENERATE, generate)


class TaskHandle(Params):
    task_id: str = Field(min_length=1, description="The job_id or DashScope task_id a generation tool returned.")


def get_task_tool(settings: Settings) -> Tool:
    arguments_model = _arguments_model("get_task", TaskHandle, settings)

    async def get_task(ctx: Context, **raw: Any) -> CallToolResult:
        services = _services(ctx)
        try:
            arguments = parse_params(arguments_model, raw).model_dump()
            result = await services.runner.resume(
                arguments["task_id"], wait_seconds=arguments["wait_seconds"], progress=_progress(ctx)
            )
        except BailianError as exc:
            raise ToolError(str(exc)) from exc
        return await to_call_tool_result(result, services.settings)

    return _make_tool(
        "get_task",
        "Get task",
        "Check on a generation job by job_id or task_id: waits up to wait_seconds for it to finish, then "
        "returns the same result a generation tool returns (files, preview, URLs). Re-saves files that went "
        "missing. Never creates or pays for anything.",
        arguments_model,
        FOLLOW,
        get_task,
    )


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def build_server(settings: Settings, *, log_level: LogLevel = "WARNING") -> MCPServer[Services]:
    """The MCP server for these settings; its lifespan opens the client and the job store."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Services]) -> AsyncIterator[Services]:
        async with open_services(settings) as services:
            yield services

    tools = [generation_tool(c, settings) for c in CAPABILITIES.values()]
    tools.append(get_task_tool(settings))
    return MCPServer(
        "bailian-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=tools,
        log_level=log_level,
    )
