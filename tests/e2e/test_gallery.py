"""The gallery's server side through the MCP client: bound to the tools for clients that advertise MCP Apps, invisible
to the others; a self-contained view; the tools only the view calls."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client import advertise
from mcp.server.apps import APP_MIME_TYPE, EXTENSION_ID

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.server import build_server, gallery
from bailian_mcp.server.gallery import GALLERY_URI
from tests.support.emulators import api_requests
from tests.support.services import make_settings

APP_TOOLS = {"gallery_refresh", "gallery_cancel", "gallery_vary", "gallery_recent"}
UI = advertise(EXTENSION_ID, {"mimeTypes": [APP_MIME_TYPE]})


@pytest.fixture
async def app_client(tmp_path: Path, emulator: RunningEmulator, clean_env: pytest.MonkeyPatch) -> AsyncIterator[Client]:
    async with Client(build_server(make_settings(tmp_path, emulator.base_url)), extensions=[UI]) as client:
        yield client


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_a_client_with_mcp_apps_sees_the_gallery_bound_and_its_own_tools(
    tmp_path: Path, emulator: RunningEmulator, mode: str
) -> None:
    settings = make_settings(tmp_path, emulator.base_url)
    async with Client(build_server(settings), mode=mode, extensions=[UI]) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    async with Client(build_server(settings), mode=mode) as plain:
        plain_tools = {tool.name: tool for tool in (await plain.list_tools()).tools}
    bound = set(CAPABILITIES) | {"get_task", "list_tasks"}
    for name in bound:
        assert (tools[name].meta or {}).get("ui") == {"resourceUri": GALLERY_URI}, name
    assert set(tools) >= APP_TOOLS
    assert all((tools[name].meta or {})["ui"]["visibility"] == ["app"] for name in APP_TOOLS)
    assert not APP_TOOLS & set(plain_tools), "other clients are not listed the view's tools"
    assert all(not (tool.meta or {}).get("ui") for tool in plain_tools.values())
    assert APP_TOOLS == gallery.APP_TOOLS
    async with Client(build_server(settings), mode=mode) as plain:
        refused = await plain.call_tool("gallery_recent", {})
    assert refused.is_error and "Unknown tool: gallery_recent" in refused.content[0].text  # type: ignore[union-attr]


async def test_the_view_is_self_contained(app_client: Client) -> None:
    read = await app_client.read_resource(GALLERY_URI)
    view = read.contents[0]
    html = getattr(view, "text", "")
    assert view.mime_type == "text/html;profile=mcp-app" and "<script>" in html
    assert not re.search(r"<(script|link|img|iframe)[^>]*\b(src|href)=", html), "no external script, style or image"
    assert not re.search(r"@import|url\(", html) and "fetch(" not in html
    assert (view.meta or {})["ui"]["csp"]["resourceDomains"][0] == "https://*.aliyuncs.com"


async def test_the_views_tools_refresh_vary_and_list_jobs(app_client: Client, emulator: RunningEmulator) -> None:
    made = await app_client.call_tool("text_to_image", {"prompt": "a red kite", "seed": 5})
    job: dict[str, Any] = made.structured_content or {}
    refreshed = await app_client.call_tool("gallery_refresh", {"job_id": job["job_id"]})
    varied = await app_client.call_tool("gallery_vary", {"job_id": job["job_id"]})
    recent = await app_client.call_tool("gallery_recent", {"limit": 5})
    spoken = await app_client.call_tool("text_to_speech", {"text": "hello"})
    assert not spoken.is_error, spoken.content
    unvaried = await app_client.call_tool("gallery_vary", {"job_id": (spoken.structured_content or {})["job_id"]})
    assert refreshed.structured_content == job
    new = varied.structured_content or {}
    assert new["job_id"] != job["job_id"] and new["capability"] == "text_to_image"
    bodies = [r["body"] for r in api_requests(emulator, "POST", "text2image")]
    assert len(bodies) == 2 and bodies[0]["parameters"]["seed"] == 5 and bodies[1]["parameters"]["seed"] != 5
    assert bodies[1]["input"]["prompt"] == "a red kite", "the same parameters but the seed"
    listed = [j["job_id"] for j in (recent.structured_content or {})["jobs"]]
    assert listed[:2] == [new["job_id"], job["job_id"]]
    assert unvaried.is_error and "takes no seed" in unvaried.content[0].text  # type: ignore[union-attr]
