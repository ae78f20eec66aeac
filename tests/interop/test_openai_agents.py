"""openai-agents against the real server over stdio (`MCPServerStdio`, one server process for the module): every tool
lists, every tool converts to a strict-mode function schema, and text_to_image, text_to_text and text_to_speech
answer through the SDK's own function tools (`FunctionTool.on_invoke_tool`, what a Runner calls for a model's tool
call), with no model and no network."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.interop.common import (
    CALLS,
    EVERY_TOOL,
    QUESTION,
    StdioServer,
    assert_jpeg,
    assert_png,
    assert_wav,
    is_job_link,
    require,
    saved_files,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def mcp_server(stdio_server: StdioServer) -> AsyncIterator[Any]:
    require("agents")
    from agents import set_tracing_disabled
    from agents.mcp import MCPServerStdio

    set_tracing_disabled(True)  # traces would be exported to OpenAI
    server = MCPServerStdio(
        {"command": stdio_server.command, "env": stdio_server.env},
        name="bailian",
        cache_tools_list=True,
        client_session_timeout_seconds=60,
    )
    async with server:
        yield server


@pytest.fixture(scope="module")
async def strict_tools(mcp_server: Any) -> dict[str, Any]:
    """The function tools an Agent with `mcp_config={"convert_schemas_to_strict": True}` hands its model."""
    from agents import Agent, RunContextWrapper

    agent = Agent(
        name="interop",
        mcp_servers=[mcp_server],
        mcp_config={"convert_schemas_to_strict": True, "failure_error_function": None},
    )
    return {tool.name: tool for tool in await agent.get_mcp_tools(RunContextWrapper(context=None))}


async def invoke(tool: Any, arguments: dict[str, Any]) -> list[dict[str, Any]]:
    """Call a function tool as the Runner does for a model's tool call; its output as a list of items."""
    from agents.tool_context import ToolContext

    raw = json.dumps(arguments)
    context = ToolContext(context=None, tool_name=tool.name, tool_call_id=f"call-{tool.name}", tool_arguments=raw)
    output = await tool.on_invoke_tool(context, raw)
    items = output if isinstance(output, list) else [output]
    texts = [item["text"] for item in items if item.get("type") == "text"]
    assert not any(text.startswith("Error") for text in texts), texts
    return [dict(item) for item in items]


def resource_links(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The SDK passes a resource_link on as a text item holding the block as JSON."""
    links = []
    for item in items:
        if item.get("type") == "text" and item["text"].startswith("{"):
            block = json.loads(item["text"])
            if block.get("type") == "resource_link":
                links.append(block)
    return links


async def test_every_tool_lists(mcp_server: Any) -> None:
    tools = await mcp_server.list_tools()
    assert {tool.name for tool in tools} == EVERY_TOOL
    assert all(tool.description for tool in tools)


async def test_every_tool_converts_to_a_strict_schema(mcp_server: Any, strict_tools: dict[str, Any]) -> None:
    """The SDK falls back to a non-strict schema silently (an INFO log), so each conversion is also run directly to
    name the tool and the reason when one is refused."""
    from agents.mcp.util import tool_input_schema
    from agents.strict_schema import ensure_strict_json_schema

    refused = {}
    for tool in await mcp_server.list_tools():
        schema = tool_input_schema(tool)
        assert "$ref" not in json.dumps(schema) and "$defs" not in schema, tool.name
        try:
            ensure_strict_json_schema(copy.deepcopy(schema))
        except Exception as error:
            refused[tool.name] = f"{type(error).__name__}: {error}"
    assert refused == {}
    assert set(strict_tools) == EVERY_TOOL
    assert [name for name, tool in strict_tools.items() if not tool.strict_json_schema] == []


async def test_text_to_image(strict_tools: dict[str, Any], stdio_server: StdioServer) -> None:
    items = await invoke(strict_tools["text_to_image"], CALLS["text_to_image"])
    (image,) = [item for item in items if item["type"] == "image"]
    prefix = "data:image/jpeg;base64,"
    assert image["image_url"].startswith(prefix)
    assert_jpeg(base64.b64decode(image["image_url"][len(prefix) :]))
    (summary, *_) = [item["text"] for item in items if item["type"] == "text"]
    (path,) = saved_files(summary, stdio_server.out_dir, ".png")
    assert_png(path, stdio_server.out_dir)
    (link,) = resource_links(items)
    assert is_job_link(link["uri"], "png") and link["mime_type"] == "image/png", link
    assert "SUCCEEDED" in summary


async def test_text_to_text(strict_tools: dict[str, Any]) -> None:
    items = await invoke(strict_tools["text_to_text"], CALLS["text_to_text"])
    answer = items[0]["text"]
    assert QUESTION in answer, "the generated text comes first"
    assert "SUCCEEDED" in items[-1]["text"]


async def test_text_to_speech(strict_tools: dict[str, Any], stdio_server: StdioServer) -> None:
    items = await invoke(strict_tools["text_to_speech"], CALLS["text_to_speech"])
    assert {item["type"] for item in items} == {"text"}, "audio is not inlined by default"
    (path,) = saved_files(items[0]["text"], stdio_server.out_dir, ".wav")
    assert_wav(path, stdio_server.out_dir)
    (link,) = resource_links(items)
    assert is_job_link(link["uri"], "wav") and link["mime_type"] == "audio/wav", link


# What a model in strict mode sends for a parameter it has nothing to say about, when the schema gives no default
# and does not allow null: the neutral value of the type, or a plausible one for numbers.
PLAUSIBLE = {"seed": 42, "temperature": 0.7, "top_p": 0.8, "sample_rate": 16000, "size": "1024*1024"}
NEUTRAL = {"string": "", "array": [], "boolean": False}


def strict_arguments(schema: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """Arguments a strict-mode model must send: every property present (strict mode makes each one required); null
    where the strict schema allows it, else the default, else a plausible or neutral value."""
    arguments = {}
    for name, prop in schema["properties"].items():
        options = prop.get("anyOf", [prop])
        types = {t for option in options for t in ([option["type"]] if isinstance(option.get("type"), str) else [])}
        types |= {t for option in options if isinstance(option.get("type"), list) for t in option["type"]}
        if name in given:
            arguments[name] = given[name]
        elif "null" in types:
            arguments[name] = None
        elif "default" in prop:
            arguments[name] = prop["default"]
        elif name in PLAUSIBLE:
            arguments[name] = PLAUSIBLE[name]
        elif "enum" in prop:
            arguments[name] = prop["enum"][0]
        elif types & {"integer", "number"}:
            arguments[name] = prop.get("minimum", 0)
        else:
            arguments[name] = NEUTRAL[sorted(types & set(NEUTRAL))[0]]
    return arguments


@pytest.mark.parametrize("name", list(CALLS))
async def test_a_strict_model_can_call_it(strict_tools: dict[str, Any], name: str) -> None:
    """In strict mode every property is required, so a model sends a value for each one; an optional parameter with
    no default must then either allow null (which the server already takes as "not given") or accept a neutral value.
    """
    import jsonschema

    tool = strict_tools[name]
    arguments = strict_arguments(tool.params_json_schema, CALLS[name])
    jsonschema.validate(arguments, tool.params_json_schema)  # what constrained decoding can produce
    assert set(arguments) == set(tool.params_json_schema["required"])
    items = await invoke(tool, arguments)
    assert "SUCCEEDED" in " ".join(item.get("text", "") for item in items), (arguments, items)
