"""What clients nobody here wrote need: a lean tool list, content their protocol version knows, schemas strict
converters accept, resources and prompts that answer with proper errors, and task ids from elsewhere collected."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import mcp.client.session as client_session
import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference, TextContent

from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.config import Settings
from bailian_mcp.emulator import RunningEmulator
from bailian_mcp.server import build_server
from tests.support.emulators import api_requests
from tests.support.services import make_settings

VISIBLE_MAX = 16_000  # name, title, description and input schema of every tool together
WHOLE_MAX = 45_000  # the whole tools/list result
DESCRIPTION_MAX = 80  # what a tool's input schema says of one parameter


def wire_size(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def texts(result: Any) -> str:
    return "\n".join(block.text for block in result.content if isinstance(block, TextContent))


def walk(schema: Any) -> Iterator[tuple[str, Any]]:
    """Every (key, value) of every schema object inside `schema`, property names excepted."""
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "properties":
                for spec in value.values():
                    yield from walk(spec)
            else:
                yield key, value
                yield from walk(value)
    elif isinstance(schema, list):
        for item in schema:
            yield from walk(item)


@pytest.fixture
def negotiated(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The protocol version the client offers in `initialize` (the server answers with the same)."""
    version: str = request.param
    monkeypatch.setattr(client_session, "LATEST_HANDSHAKE_VERSION", version)
    return version


@pytest.fixture
async def legacy_client(server_settings: Settings, negotiated: str) -> AsyncIterator[Client]:
    async with Client(build_server(server_settings), mode="legacy") as client:
        assert client.protocol_version == negotiated
        yield client


# ---------------------------------------------------------------------- the tool list


async def test_the_tool_list_is_lean_and_strict_converters_accept_every_input_schema(mcp_client: Client) -> None:
    listed = (await mcp_client.list_tools()).model_dump(mode="json", by_alias=True, exclude_none=True)
    tools = listed["tools"]
    assert {tool["name"] for tool in tools} >= set(CAPABILITIES)
    visible = sum(wire_size({k: t[k] for k in ("name", "title", "description", "inputSchema")}) for t in tools)
    assert visible <= VISIBLE_MAX and wire_size(listed) <= WHOLE_MAX, (visible, wire_size(listed))
    for tool in tools:
        keys = [key for key, _ in walk(tool["inputSchema"])]
        assert not {"$ref", "$defs", "title", "examples"} & set(keys), tool["name"]
        assert tool["inputSchema"]["additionalProperties"] is False
        for name, spec in tool["inputSchema"]["properties"].items():
            assert len(spec.get("description", "")) <= DESCRIPTION_MAX, (tool["name"], name)
            assert "anyOf" not in spec or name == "stop", (tool["name"], name)  # text or a list of texts


async def test_the_details_left_out_of_the_schemas_are_in_the_help_and_the_model_list(mcp_client: Client) -> None:
    help_text = (await mcp_client.read_resource("bailian://help/text_to_image")).contents[0]
    assert "qwen-image-3.0" in getattr(help_text, "text", "") and "2048*2048" in getattr(help_text, "text", "")
    models = await mcp_client.call_tool("list_models", {"capability": "text_to_speech"})
    assert models.structured_content is not None and "longanyang" in json.dumps(models.structured_content)


# ---------------------------------------------------------------------- content by negotiated version

ALLOWED = {
    "2024-11-05": {"text", "image", "resource"},
    "2025-03-26": {"text", "image", "audio", "resource"},
    "2025-06-18": {"text", "image", "audio", "resource", "resource_link"},
}


@pytest.mark.parametrize("negotiated", list(ALLOWED), indirect=True)
async def test_a_client_of_each_version_gets_only_what_its_version_defines(
    legacy_client: Client, negotiated: str
) -> None:
    modern = negotiated >= "2025-06-18"
    for tool in (await legacy_client.list_tools()).tools:
        assert (tool.output_schema is not None) == modern and (tool.title is not None) == modern
        assert (tool.annotations is not None) == (negotiated >= "2025-03-26")
    for name, arguments in [("text_to_image", {"prompt": "a lighthouse"}), ("text_to_speech", {"text": "你好。"})]:
        result = await legacy_client.call_tool(name, arguments)
        assert not result.is_error, texts(result)
        assert {block.type for block in result.content} <= ALLOWED[negotiated]
        assert (result.structured_content is not None) == modern
        if not modern:
            assert "bailian://jobs/job_" in texts(result), "the saved file is named in a line of text"


async def test_audio_is_not_inlined_unless_asked(tmp_path: Path, emulator: RunningEmulator) -> None:
    for inline, expected in [(False, set()), (True, {"audio"})]:
        settings = make_settings(tmp_path / str(inline), emulator.base_url, inline_audio=inline)
        async with Client(build_server(settings)) as client:
            result = await client.call_tool("text_to_speech", {"text": "你好。"})
        assert {block.type for block in result.content} & {"audio"} == expected
        assert "resource_link" in {block.type for block in result.content}


# ---------------------------------------------------------------------- resources and prompts


async def test_resources_not_found_are_invalid_params_and_the_mime_type_fits_the_bytes(mcp_client: Client) -> None:
    made = await mcp_client.call_tool("text_to_image", {"prompt": "a cat"})
    assert made.structured_content is not None
    job_id = made.structured_content["job_id"]
    served = (await mcp_client.read_resource(f"bailian://jobs/{job_id}/0.png")).contents[0]
    assert served.mime_type == "image/png"
    for uri in [f"bailian://jobs/{job_id}/0.jpg", f"bailian://jobs/{job_id}/0.json", "bailian://jobs/job_none/0.png"]:
        with pytest.raises(MCPError) as raised:
            await mcp_client.read_resource(uri)
        assert raised.value.error.code in (-32002, -32602) and raised.value.error.data == {"uri": uri}
    template = ResourceTemplateReference(type="ref/resource", uri="bailian://jobs/{job_id}/{index}.png")
    completed = await mcp_client.complete(template, {"name": "job_id", "value": job_id[:6]})
    assert completed.completion.values == [job_id]


async def test_prompts_help_start_work_and_refuse_properly(mcp_client: Client) -> None:
    names = [prompt.name for prompt in (await mcp_client.list_prompts()).prompts]
    assert names == ["poster", "storyboard_to_clip", "transcribe_and_summarise", "narrate"]
    poster = await mcp_client.get_prompt("poster", {"text": "开业大吉"})
    assert "开业大吉" in str(poster.messages[0].content) and "text_to_image" in str(poster.messages[0].content)
    for name, arguments, said in [("nope", {}, "Unknown prompt"), ("poster", {}, "needs the argument(s) text")]:
        with pytest.raises(MCPError) as raised:
            await mcp_client.get_prompt(name, arguments)
        assert raised.value.error.code == -32602 and said in raised.value.error.message
    narrate = PromptReference(type="ref/prompt", name="narrate")
    voices = await mcp_client.complete(narrate, {"name": "voice", "value": "Cher"}, {"model": "qwen3-tts-flash"})
    assert voices.completion.values == ["Cherry"]
    models = await mcp_client.complete(
        PromptReference(type="ref/prompt", name="poster"), {"name": "model", "value": ""}
    )
    assert "qwen-image" in models.completion.values and "wan2.2-t2i-flash" not in models.completion.values


# ---------------------------------------------------------------------- task ids from elsewhere


async def test_get_task_collects_a_task_made_elsewhere_with_the_same_key(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    body = {"model": "wan2.2-t2i-flash", "input": {"prompt": "a boat"}, "parameters": {"n": 1}}
    headers = {"Authorization": "Bearer sk-test", "X-DashScope-Async": "enable"}
    async with httpx.AsyncClient() as http:  # as a script with the same key would, on loopback
        made = await http.post(
            f"{emulator.base_url}/services/aigc/text2image/image-synthesis", json=body, headers=headers
        )
    task_id = made.json()["output"]["task_id"]
    result = await mcp_client.call_tool("get_task", {"task_id": task_id, "wait_seconds": 30})
    assert not result.is_error, texts(result)
    assert result.structured_content is not None and result.structured_content["task_id"] == task_id
    assert result.structured_content["status"] == "SUCCEEDED" and result.structured_content["outputs"][0]["path"]


async def test_get_task_of_a_task_dashscope_does_not_know_is_a_final_answer(
    mcp_client: Client, emulator: RunningEmulator
) -> None:
    result = await mcp_client.call_tool("get_task", {"task_id": "1111"})
    assert result.is_error and "task_id='1111'" in texts(result) and "does not know this task" in texts(result)
    assert len(api_requests(emulator, "GET", "/tasks/1111")) == 1, "asked once, not polled"
