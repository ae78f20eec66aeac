"""The MCP server: the tools of the configured groups, the model catalogue and saved outputs as resources."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Literal

from mcp.server import MCPServer
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError
from mcp.server.mcpserver.tools.base import Tool

from bailian_mcp import __version__, catalog
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.config import Settings
from bailian_mcp.errors import ConfigurationError
from bailian_mcp.runtime import Services, open_services
from bailian_mcp.tool_results import RESOURCE_MIME_TYPES
from bailian_mcp.tools import cancel_task_tool, generation_tool, get_task_tool, list_models_tool, list_tasks_tool

INSTRUCTIONS = (
    "Alibaba Bailian (DashScope) generation models. Generation tools wait up to wait_seconds and return "
    "files (saved locally, with a small preview and their URLs). If a result says done=false, the job is "
    "still running and already paid for: call get_task with its job_id instead of generating again."
)

TOOL_GROUPS: dict[str, tuple[str, ...]] = {
    "image": ("text_to_image", "edit_image", "wanx_edit_image"),
    "text": ("text_to_text",),
    "video": ("text_to_video",),
    "audio": ("text_to_speech", "speech_to_text"),
    "tasks": ("get_task", "list_tasks", "cancel_task", "list_models"),
}


def _tools(settings: Settings) -> list[Tool]:
    unknown = sorted(set(settings.tools) - set(TOOL_GROUPS))
    if unknown:
        raise ConfigurationError(
            f"BAILIAN_TOOLS names unknown group(s) {', '.join(unknown)}; the groups are {', '.join(TOOL_GROUPS)}"
        )
    wanted = {name for group in (settings.tools or TOOL_GROUPS) for name in TOOL_GROUPS[group]}
    tools = [generation_tool(c, settings) for c in CAPABILITIES.values()]
    tools += [get_task_tool(settings), list_tasks_tool(), cancel_task_tool(), list_models_tool()]
    return [tool for tool in tools if tool.name in wanted]


def _services(ctx: Context) -> Services:
    services = ctx.request_context.lifespan_context
    assert isinstance(services, Services)
    return services


async def _saved_output(ctx: Context, job_id: str, index: str) -> bytes:
    """The bytes of a job's saved output, for `bailian://jobs/{job_id}/{index}.{ext}`."""
    services = _services(ctx)
    job = await services.store.get(job_id)
    outputs = (job.result or {}).get("outputs", []) if job else []
    match = [o for o in outputs if str(o.get("index")) == index and o.get("path")]
    if not match:
        raise ResourceError(f"Job {job_id} has no saved output {index}; get_task saves missing files again.")
    path = Path(match[0]["path"]).resolve()
    if not path.is_relative_to(services.settings.output_dir.resolve()) or not path.is_file():
        raise ResourceError(f"The file of job {job_id} output {index} is no longer in the output folder.")
    return path.read_bytes()


def capability_help(name: str) -> str:
    """The full help of a tool: what it does, every parameter with its limits, and its models (markdown)."""
    capability = CAPABILITIES.get(name)
    if capability is None:
        raise ResourceError(f"No tool {name!r} has help; the tools are {', '.join(CAPABILITIES)}.")
    lines = [f"# {capability.name} — {capability.title}", "", capability.description, "", "## Parameters", ""]
    schema = capability.params_model.model_json_schema()
    required = set(schema.get("required", []))
    for param, spec in schema["properties"].items():
        limits = ", ".join(
            f"{key} {spec[key]}"
            for key in ("default", "minimum", "maximum", "minLength", "maxLength", "enum")
            if key in spec
        )
        flag = "required" if param in required else "optional"
        lines.append(f"- `{param}` ({flag}{'; ' + limits if limits else ''}): {spec.get('description', '')}")
    lines += ["", "## Models", ""]
    lines += [
        f"- `{m['name']}`: {m['summary']} {m['price']}; regions {', '.join(m['regions'])}."
        for m in catalog.catalogue(name)
    ]
    return "\n".join(lines)


def _add_resources(server: MCPServer[Services]) -> None:
    server.resource(
        "bailian://help/{name}",
        name="help",
        title="Tool help",
        mime_type="text/markdown",
        description="The full help of a generation tool.",
    )(capability_help)

    @server.resource(
        "bailian://models",
        name="models",
        title="Model catalogue",
        mime_type="application/json",
        description="Every model: capability, limits, sizes, prices, regions.",
    )
    def models() -> str:
        return json.dumps(catalog.catalogue(), ensure_ascii=False, indent=1)

    for suffix, mime_type in RESOURCE_MIME_TYPES.items():
        server.resource(
            f"bailian://jobs/{{job_id}}/{{index}}{suffix}",
            name=f"job-output{suffix}",
            title=f"Saved job output ({suffix})",
            mime_type=mime_type,
            description="A file a job saved; the links in tool results point here.",
        )(_saved_output)


LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


def build_server(
    settings: Settings,
    *,
    log_level: LogLevel = "WARNING",
    token_verifier: TokenVerifier | None = None,
    auth: AuthSettings | None = None,
) -> MCPServer[Services]:
    """The MCP server for these settings; its lifespan opens the client and the job store. `token_verifier` and
    `auth` (both or neither) make the HTTP transports require a bearer token (see http_security)."""

    @asynccontextmanager
    async def lifespan(_: MCPServer[Services]) -> AsyncIterator[Services]:
        async with open_services(settings) as services:
            yield services

    server = MCPServer(
        "bailian-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=_tools(settings),
        log_level=log_level,
        token_verifier=token_verifier,
        auth=auth,
    )
    _add_resources(server)
    return server
