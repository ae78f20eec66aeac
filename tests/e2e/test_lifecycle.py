"""The job lifecycle through the MCP client: listing, adoption, cancellation, crash recovery, expiry, result modes."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client, StdioServerParameters
from mcp.types import ImageContent, ResourceLink, TextContent

from bailian_mcp.config import Settings
from bailian_mcp.emulator import EmulatorConfig, RunningEmulator
from bailian_mcp.server import build_server
from tests.support.emulators import api_requests
from tests.support.services import make_settings
from tests.support.spawned import ENTRY_POINT

SLOW = EmulatorConfig(pending_seconds=0.1, running_seconds=1.5)
QUEUED = EmulatorConfig(pending_seconds=30, running_seconds=1)


def texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


async def call(client: Client, tool: str, arguments: dict[str, Any]) -> dict[str, Any]:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, texts(result)
    assert result.structured_content is not None
    return result.structured_content


@pytest.mark.slow
async def test_list_tasks_shows_jobs_newest_first_with_their_total_cost(mcp_client: Client) -> None:
    await call(mcp_client, "text_to_image", {"prompt": "one", "n": 2})
    await call(mcp_client, "text_to_image", {"prompt": "two", "model": "qwen-image"})
    listing = await call(mcp_client, "list_tasks", {})
    assert [job["model"] for job in listing["jobs"]] == ["qwen-image", "wan2.2-t2i-flash"]
    assert all(job["status"] == "SUCCEEDED" for job in listing["jobs"])
    assert listing["total_cost"] == [{"amount": pytest.approx(0.53), "currency": "CNY", "basis": "2 priced jobs"}]
    only_qwen = await call(mcp_client, "list_tasks", {"capability": "text_to_image", "limit": 1})
    assert len(only_qwen["jobs"]) == 1


@pytest.mark.slow
async def test_a_task_created_elsewhere_with_the_same_key_is_adopted_and_collected(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    reply = httpx.post(
        f"{emulator.base_url}/services/aigc/text2image/image-synthesis",
        headers={"Authorization": "Bearer sk-test", "X-DashScope-Async": "enable"},
        json={
            "model": "wanx2.1-t2i-turbo",
            "input": {"prompt": "made by another client"},
            "parameters": {"n": 1, "size": "1024*1024"},
        },
    )
    task_id = reply.json()["output"]["task_id"]
    listing = await call(mcp_client, "list_tasks", {})
    assert listing["adopted"] == 1
    (adopted,) = [job for job in listing["jobs"] if job["task_id"] == task_id]
    assert adopted["adopted"] and adopted["capability"] == "text_to_image" and adopted["model"] == "wanx2.1-t2i-turbo"
    collected = await call(mcp_client, "get_task", {"task_id": task_id, "wait_seconds": 10})
    assert collected["status"] == "SUCCEEDED" and Path(collected["outputs"][0]["path"]).is_file()
    again = await call(mcp_client, "list_tasks", {})
    assert again["adopted"] == 0 and len([j for j in again["jobs"] if j["task_id"] == task_id]) == 1


@pytest.mark.parametrize("emulator_config", [QUEUED])
async def test_cancel_task_while_pending_cancels_it_on_dashscope(
    mcp_client: Client, emulator: RunningEmulator, emulator_config: EmulatorConfig
) -> None:
    handle = await call(mcp_client, "text_to_image", {"prompt": "queued", "wait_seconds": 0})
    cancelled = await call(mcp_client, "cancel_task", {"task_id": handle["job_id"]})
    assert cancelled["status"] == "CANCELED" and cancelled["done"] and "nothing was generated" in cancelled["message"]
    assert len(api_requests(emulator, "POST", "/cancel")) == 1
    after = await call(mcp_client, "get_task", {"task_id": handle["job_id"], "wait_seconds": 0})
    assert after["status"] == "CANCELED"


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [SLOW])
async def test_cancel_task_while_running_explains_it_will_finish(
    mcp_client: Client, emulator_config: EmulatorConfig
) -> None:
    handle = await call(mcp_client, "text_to_image", {"prompt": "busy", "wait_seconds": 0})
    with anyio.fail_after(5):
        while (await call(mcp_client, "get_task", {"task_id": handle["job_id"], "wait_seconds": 0}))[
            "status"
        ] != "RUNNING":
            await anyio.sleep(0.05)
    answer = await call(mcp_client, "cancel_task", {"task_id": handle["task_id"]})
    assert (
        answer["status"] == "RUNNING"
        and not answer["done"]
        and "only cancels tasks that are still PENDING" in (answer["message"])
    )
    finished = await call(mcp_client, "get_task", {"task_id": handle["job_id"], "wait_seconds": 10})
    assert finished["status"] == "SUCCEEDED"


@pytest.mark.slow
@pytest.mark.parametrize("emulator_config", [SLOW])
async def test_a_killed_server_loses_no_job_and_pays_nothing_twice(
    tmp_path: Path, emulator: RunningEmulator, emulator_config: EmulatorConfig
) -> None:
    env = {
        "BAILIAN_DATA_DIR": str(tmp_path / "data"),
        "DASHSCOPE_API_KEY": "sk-test",
        "DASHSCOPE_BASE_URL": emulator.base_url,
        "BAILIAN_LEASE_SECONDS": "2",  # the killed server's leases (its holds, its lead of the poller) lapse soon
    }
    unique_args = ["--output-dir", str(tmp_path / "out")]  # tells this test's server process from any other
    async with Client(StdioServerParameters(command=ENTRY_POINT, args=unique_args, env=env)) as client:
        handle = await call(client, "text_to_image", {"prompt": "survive a crash", "wait_seconds": 0})
        pattern = f"--output-dir {tmp_path / 'out'}"
        found = subprocess.run(["pgrep", "-f", "--", pattern], capture_output=True, text=True).stdout.split()
        assert len(found) == 1, found
        os.kill(int(found[0]), signal.SIGKILL)  # no clean shutdown: the job store is all that is left
        await anyio.sleep(0.2)
    async with Client(StdioServerParameters(command=ENTRY_POINT, args=unique_args, env=env)) as client:
        recovered = await call(client, "get_task", {"task_id": handle["job_id"], "wait_seconds": 15})
        listing = await call(client, "list_tasks", {})
    assert recovered["status"] == "SUCCEEDED" and recovered["task_id"] == handle["task_id"]
    assert Path(recovered["outputs"][0]["path"]).is_file()
    assert [job["job_id"] for job in listing["jobs"]] == [handle["job_id"]]
    assert len(api_requests(emulator, "POST", "image-synthesis")) == 1


@pytest.mark.slow
@pytest.mark.parametrize(
    "emulator_config", [EmulatorConfig(pending_seconds=0.05, running_seconds=0.1, result_url_ttl_seconds=3.0)]
)
async def test_an_expired_url_is_reported_and_the_saved_file_kept(
    mcp_client: Client, emulator_config: EmulatorConfig
) -> None:
    made = await call(mcp_client, "text_to_image", {"prompt": "short-lived"})
    saved = Path(made["outputs"][0]["path"])
    expires = made["outputs"][0]["url_expires_at"]
    assert expires.endswith("Z")
    time.sleep(3.2)
    again = await call(mcp_client, "get_task", {"task_id": made["job_id"]})
    assert again["outputs"][0]["path"] == str(saved) and saved.is_file()  # the file outlives the URL
    saved.unlink()
    repaired = await call(mcp_client, "get_task", {"task_id": made["job_id"]})
    assert any("expired" in warning for warning in repaired["warnings"])
    assert repaired["outputs"][0]["url"] == made["outputs"][0]["url"]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "saved", "schemes"),
    [("local", True, ["bailian"]), ("url", False, ["http"]), ("both", True, ["bailian", "http"])],
)
async def test_result_modes(
    tmp_path: Path, emulator: RunningEmulator, clean_env: pytest.MonkeyPatch, mode: str, saved: bool, schemes: list[str]
) -> None:
    settings = make_settings(tmp_path, emulator.base_url, result_mode=mode)
    async with Client(build_server(settings)) as client:
        result = await client.call_tool("text_to_image", {"prompt": "modes"})
    data = result.structured_content
    assert data is not None and data["status"] == "SUCCEEDED"
    output = data["outputs"][0]
    assert (output["path"] is not None) == saved and output["url"]
    links = [str(block.uri).split(":")[0] for block in result.content if isinstance(block, ResourceLink)]
    assert links == schemes
    assert any(isinstance(block, ImageContent) for block in result.content) == saved
    assert len(result.model_dump_json()) < 1024 * 1024


@pytest.mark.slow
async def test_resources_list_the_catalogue_and_serve_saved_files(mcp_client: Client) -> None:
    resources = {str(r.uri) for r in (await mcp_client.list_resources()).resources}
    assert "bailian://models" in resources
    templates = {t.uri_template for t in (await mcp_client.list_resource_templates()).resource_templates}
    assert "bailian://jobs/{job_id}/{index}.png" in templates and "bailian://jobs/{job_id}/{index}.mp4" in templates
    (catalogue,) = (await mcp_client.read_resource("bailian://models")).contents
    models = json.loads(catalogue.text)  # type: ignore[union-attr]
    assert {m["capability"] for m in models} >= {"text_to_image", "text_to_text", "text_to_video", "speech_to_text"}
    made = await call(mcp_client, "text_to_image", {"prompt": "a resource"})
    (content,) = (await mcp_client.read_resource(f"bailian://jobs/{made['job_id']}/0.png")).contents
    assert base64.b64decode(content.blob) == Path(made["outputs"][0]["path"]).read_bytes()  # type: ignore[union-attr]


async def test_list_models_reports_limits_prices_and_regions(mcp_client: Client) -> None:
    listing = await call(mcp_client, "list_models", {"capability": "text_to_video"})
    (turbo,) = [m for m in listing["models"] if m["name"] == "wan2.1-t2v-turbo"]
    assert "480*832" in turbo["limits"]["sizes"] and turbo["limits"]["durations"] == [5]
    assert turbo["wire_names"]["cn-beijing"] == "wanx2.1-t2v-turbo" and turbo["price"] == "0.24 CNY/second"


async def test_tool_groups_shrink_the_tool_list(
    tmp_path: Path, emulator: RunningEmulator, clean_env: pytest.MonkeyPatch
) -> None:
    async with Client(build_server(make_settings(tmp_path, emulator.base_url, tools="audio,tasks"))) as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert names == {"text_to_speech", "speech_to_text", "get_task", "list_tasks", "cancel_task", "list_models"}


def test_an_unknown_tool_group_is_a_configuration_error(tmp_path: Path, clean_env: pytest.MonkeyPatch) -> None:
    from bailian_mcp.errors import ConfigurationError

    with pytest.raises(ConfigurationError, match="pictures"):
        build_server(make_settings(tmp_path, "http://127.0.0.1:9/api/v1", tools="pictures"))


@pytest.mark.slow
async def test_cancelling_get_task_does_not_cancel_the_job(
    server_settings: Settings, emulator: RunningEmulator
) -> None:
    async with Client(build_server(server_settings)) as client:
        handle = await call(client, "text_to_image", {"prompt": "keep going", "wait_seconds": 0})
        with anyio.move_on_after(0.05):
            await client.call_tool("get_task", {"task_id": handle["job_id"], "wait_seconds": 30})
        done = await call(client, "get_task", {"task_id": handle["job_id"], "wait_seconds": 10})
    assert done["status"] == "SUCCEEDED" and api_requests(emulator, "POST", "/cancel") == []


async def test_tool_descriptions_are_short_and_full_help_is_a_resource(mcp_client: Client) -> None:
    tools = (await mcp_client.list_tools()).tools
    for tool in tools:
        assert tool.description and len(tool.description) <= 400, tool.name
    (help_page,) = (await mcp_client.read_resource("bailian://help/wanx_edit_image")).contents
    text = help_page.text  # type: ignore[union-attr]
    assert "description_edit_with_mask" in text and "`upscale_factor`" in text and "wanx2.1-imageedit" in text
