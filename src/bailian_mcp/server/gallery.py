"""The gallery: an MCP App (`io.modelcontextprotocol/ui`) that shows results in the conversation.

One self-contained HTML view (`gallery.html`: inline script and style, nothing fetched from elsewhere) is bound to
every generation tool, `get_task` and `list_tasks` through `_meta.ui.resourceUri`. A host that renders MCP Apps
shows a call's result in it: images in a grid, players for clips and audio, timed transcripts, text; status and
cost. The view acts through tools only it sees (`visibility: ["app"]`): refresh a job, cancel it, make a variation
(same parameters, a new seed), list recent jobs. It loads saved files through `bailian://` resources (as Blob
URLs); a file too large to send that way is loaded from its URL, on the hosts the resource's CSP declares.

Clients that did not advertise the extension see none of it (`AppsForAppHosts`): no app-only tools, no `_meta.ui`.
"""

from __future__ import annotations

import random
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from mcp.server.apps import Apps, ResourceCsp, client_supports_apps
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.tools.base import Tool
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel, Field

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.capabilities.base import parse_params
from bailian_mcp.capabilities.fields import SEED_MAX
from bailian_mcp.config import REGION_BASE_URLS, Settings
from bailian_mcp.errors import InputError
from bailian_mcp.jobs import admin
from bailian_mcp.jobs.results import JobResult
from bailian_mcp.jobs.runner import standing
from bailian_mcp.jobs.services import Services
from bailian_mcp.jobs.store import Job
from bailian_mcp.server.tools import CANCEL, FOLLOW, GENERATE, READ_ONLY, job_content, make_tool, published, tool_body

GALLERY_URI = "ui://bailian/gallery.html"
RESULT_HOSTS = ["https://*.aliyuncs.com"]
"""Where DashScope's result URLs point (OSS buckets of many names and regions): the view may load a file too large
to read as a resource from there."""
APP_ONLY = {"visibility": ["app"]}
APP_TOOLS = frozenset({"gallery_refresh", "gallery_cancel", "gallery_vary", "gallery_recent"})
REFRESH_WAIT_MAX = 60
RECENT_MAX = 48


def gallery_extension(settings: Settings) -> Apps:
    """The extension serving the view (its CSP allows the result hosts, and the emulator's when one is used)."""
    apps = Apps()
    hosts = list(RESULT_HOSTS)
    service = urlsplit(settings.resolved_base_url)
    if settings.resolved_base_url not in REGION_BASE_URLS.values() and service.hostname not in (None, ""):
        hosts.append(f"{service.scheme}://{service.netloc}")  # an emulator or a proxy serves the results itself
    apps.add_html_resource(
        GALLERY_URI,
        resources.files("bailian_mcp.server").joinpath("gallery.html").read_text(encoding="utf-8"),
        name="gallery",
        title="Bailian results",
        description="Images, clips, audio, transcripts and text made by this server, with status and cost.",
        csp=ResourceCsp(resource_domains=hosts),
        prefers_border=True,
    )
    return apps


def shown_in_gallery(tools: list[Tool]) -> list[Tool]:
    """The tools whose results the gallery shows (generation tools, get_task, list_tasks), bound to it."""
    bound = set(CAPABILITIES) | {"get_task", "list_tasks"}
    return [
        tool.model_copy(update={"meta": {**(tool.meta or {}), "ui": {"resourceUri": GALLERY_URI}}})
        if tool.name in bound
        else tool
        for tool in tools
    ]


# ---------------------------------------------------------------------------------------------------- app-only tools


class JobHandle(BaseModel):
    job_id: str = Field(min_length=1, max_length=200)


class Refresh(JobHandle):
    wait_seconds: int = Field(0, ge=0, le=REFRESH_WAIT_MAX, description="Seconds to wait for it to finish.")


class Variation(JobHandle):
    confirm: bool = Field(False, description="The user agreed to its cost (clicked to confirm).")


class Recent(BaseModel):
    limit: int = Field(12, ge=1, le=RECENT_MAX)


class Gallery(BaseModel):
    jobs: list[JobResult]


def gallery_tools() -> list[Tool]:
    """The tools only the view calls."""

    async def refresh(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        asked = parse_params(Refresh, raw)
        return await job_content(services, await services.runner.resume(asked.job_id, wait_seconds=asked.wait_seconds))

    async def cancel(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        asked = parse_params(JobHandle, raw)
        return await job_content(services, await admin.cancel_job(services.store, services.client, asked.job_id))

    async def vary(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        asked = parse_params(Variation, raw)
        job = await admin.find_job(services.store, services.client, asked.job_id)
        capability = CAPABILITIES[job.capability]
        if "seed" not in capability.params_model.model_fields:
            raise InputError("job_id", asked.job_id, f"{capability.name} takes no seed: it has no variations")
        params = parse_params(capability.params_model, {**job.params, "seed": random.randint(0, SEED_MAX)})
        result = await services.runner.run(capability, params, wait_seconds=0, confirmed=asked.confirm)
        return await job_content(services, result)

    async def recent(services: Services, raw: dict[str, Any], ctx: Context) -> CallToolResult:
        asked = parse_params(Recent, raw)
        shown = Gallery(jobs=[_as_result(job) for job in await services.store.list(limit=asked.limit)])
        return CallToolResult(
            content=[TextContent(type="text", text=f"{len(shown.jobs)} recent job(s).")],
            structured_content=shown.model_dump(mode="json"),
        )

    def app_tool(
        name: str, about: str, params: type[BaseModel], hints: ToolAnnotations, body: Any, output: type[BaseModel]
    ) -> Tool:
        tool = make_tool(name, name, about, published(params, None), hints, tool_body(body), output)
        return tool.model_copy(update={"meta": {"ui": {"resourceUri": GALLERY_URI, **APP_ONLY}}})

    return [
        app_tool(
            "gallery_refresh", "A job's result now, or after waiting for it.", Refresh, FOLLOW, refresh, JobResult
        ),
        app_tool("gallery_cancel", "Cancel a job while its task is PENDING.", JobHandle, CANCEL, cancel, JobResult),
        app_tool(
            "gallery_vary", "The job again with a new seed (a new, paid job).", Variation, GENERATE, vary, JobResult
        ),
        app_tool("gallery_recent", "The most recent jobs with their results.", Recent, READ_ONLY, recent, Gallery),
    ]


def _as_result(job: Job) -> JobResult:
    """A job as the view shows it: its stored result, or where it stands."""
    if job.result is not None:
        return JobResult.model_validate(job.result)
    return standing(job, f"Job {job.job_id} is {job.status}.")


# ---------------------------------------------------------------------------------------------------- other clients


class AppsForAppHosts:
    """Server middleware: a client that did not advertise MCP Apps is listed neither the app-only tools nor the
    `_meta.ui` of the others (it would only make the tool list longer), and may not call the app-only tools (they
    act on a user's click in the view: `gallery_vary` with `confirm` is a confirmation)."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        if ctx.method == "tools/call" and (ctx.params or {}).get("name") in APP_TOOLS and not client_supports_apps(ctx):
            name = (ctx.params or {})["name"]
            refused = CallToolResult(content=[TextContent(type="text", text=f"Unknown tool: {name}")], is_error=True)
            return refused.model_dump(mode="json", by_alias=True, exclude_none=True)
        result = await call_next(ctx)
        if ctx.method != "tools/list" or not isinstance(result, dict) or client_supports_apps(ctx):
            return result
        return result | {"tools": [_without_ui(tool) for tool in result.get("tools", []) if not _app_only(tool)]}


def _app_only(tool: dict[str, Any]) -> bool:
    ui = (tool.get("_meta") or {}).get("ui") or {}
    return isinstance(ui, dict) and ui.get("visibility") == ["app"]


def _without_ui(tool: dict[str, Any]) -> dict[str, Any]:
    meta = {key: value for key, value in (tool.get("_meta") or {}).items() if key != "ui"}
    return {key: value for key, value in tool.items() if key != "_meta"} | ({"_meta": meta} if meta else {})
