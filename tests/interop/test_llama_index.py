"""llama-index against the real server over stdio (`BasicMCPClient` from llama-index-tools-mcp, turned into
`FunctionTool`s by `McpToolSpec`): every tool lists and gets a function schema, and text_to_image, text_to_text and
text_to_speech answer through `FunctionTool.acall` (what an agent calls for a model's tool call), with no model and no
network. `BasicMCPClient` opens a session, so spawns the server, for each request: that is its design."""

from __future__ import annotations

from typing import Any

import pytest

from tests.interop.common import (
    CALLS,
    EVERY_TOOL,
    QUESTION,
    StdioServer,
    assert_png,
    assert_wav,
    is_job_link,
    require,
    saved_files,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
async def function_tools(stdio_server: StdioServer) -> dict[str, Any]:
    require("llama_index.tools.mcp")
    from llama_index.tools.mcp import BasicMCPClient, McpToolSpec

    client = BasicMCPClient(stdio_server.command, args=[], env=stdio_server.env, timeout=60)
    tools = await McpToolSpec(client).to_tool_list_async()
    return {tool.metadata.name: tool for tool in tools}


async def call(function_tools: dict[str, Any], name: str) -> tuple[Any, str]:
    """The tool's output: the MCP result it carries, and the text the model is given."""
    output = await function_tools[name].acall(**CALLS[name])
    result = output.raw_output
    assert not result.is_error, result.content
    return result, output.content


async def test_every_tool_lists(function_tools: dict[str, Any]) -> None:
    assert set(function_tools) == EVERY_TOOL
    for name, tool in function_tools.items():
        function = tool.metadata.to_openai_tool()["function"]
        assert function["name"] == name and function["description"], name
        assert function["parameters"]["type"] == "object", name


async def test_text_to_image(function_tools: dict[str, Any], stdio_server: StdioServer) -> None:
    result, text = await call(function_tools, "text_to_image")
    assert [block.type for block in result.content] == ["text", "image", "resource_link"]
    (path,) = saved_files(result.content[0].text, stdio_server.out_dir, ".png")
    assert_png(path, stdio_server.out_dir)
    assert is_job_link(str(result.content[2].uri), "png")
    assert str(path) in text, "the model's text names the saved file"


async def test_text_to_text(function_tools: dict[str, Any]) -> None:
    result, text = await call(function_tools, "text_to_text")
    assert QUESTION in result.content[0].text, "the generated text comes first"
    assert result.structured_content["status"] == "SUCCEEDED"
    assert result.content[0].text in text


async def test_text_to_speech(function_tools: dict[str, Any], stdio_server: StdioServer) -> None:
    result, text = await call(function_tools, "text_to_speech")
    assert [block.type for block in result.content] == ["text", "resource_link"], "audio is not inlined by default"
    (path,) = saved_files(result.content[0].text, stdio_server.out_dir, ".wav")
    assert_wav(path, stdio_server.out_dir)
    assert is_job_link(str(result.content[1].uri), "wav")
    assert str(path) in text
