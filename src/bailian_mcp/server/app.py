"""The MCP server: a tool per capability and the job tools, of the configured groups, and the resources."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Literal

from mcp.server import MCPServer
from mcp.server.auth.provider import TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.mcpserver.tools.base import Tool

from bailian_mcp import __version__
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.config import Settings
from bailian_mcp.errors import ConfigurationError
from bailian_mcp.jobs.services import Services, open_services
from bailian_mcp.server.gallery import AppsForAppHosts, gallery_extension, gallery_tools, shown_in_gallery
from bailian_mcp.server.prompts import PromptRequests, add_prompts
from bailian_mcp.server.resources import LargeOutputs, add_resources
from bailian_mcp.server.tools import JOB_TOOLS, generation_tool, job_tools
from bailian_mcp.server.versions import OlderProtocolVersions

INSTRUCTIONS = (
    "Alibaba Bailian (DashScope) generation models. Generation tools wait up to wait_seconds and return "
    "files (saved locally, with a small preview and their URLs). If a result says done=false, the job is "
    "still running and already paid for: call get_task with its job_id instead of generating again."
)

TASKS_GROUP = "tasks"  # the group of the job tools


def tool_groups() -> dict[str, list[str]]:
    """The tool groups BAILIAN_TOOLS chooses from: each capability's, then the job tools' (`tasks`)."""
    groups: dict[str, list[str]] = {}
    for capability in CAPABILITIES.values():
        groups.setdefault(capability.group, []).append(capability.name)
    groups[TASKS_GROUP] = list(JOB_TOOLS)
    return groups


def _tools(settings: Settings) -> list[Tool]:
    groups = tool_groups()
    unknown = sorted(set(settings.tools) - set(groups))
    if unknown:
        raise ConfigurationError(
            f"BAILIAN_TOOLS names unknown group(s) {', '.join(unknown)}; the groups are {', '.join(groups)}"
        )
    wanted = {name for group in (settings.tools or groups) for name in groups[group]}
    tools = [generation_tool(c, settings) for c in CAPABILITIES.values()] + job_tools(settings)
    return shown_in_gallery([tool for tool in tools if tool.name in wanted]) + gallery_tools()


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

    running: list[Services] = []  # the lifespan's services, for the handlers that get no request context

    @asynccontextmanager
    async def lifespan(_: MCPServer[Services]) -> AsyncIterator[Services]:
        async with open_services(settings) as services:
            running.append(services)
            try:
                yield services
            finally:
                running.remove(services)

    server = MCPServer(
        "bailian-mcp",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        tools=_tools(settings),
        log_level=log_level,
        token_verifier=token_verifier,
        auth=auth,
        middleware=[PromptRequests(), LargeOutputs(), OlderProtocolVersions(), AppsForAppHosts()],
        extensions=[gallery_extension(settings)],
    )
    add_resources(server)
    add_prompts(server, lambda: running[-1] if running else None)
    return server
