"""pydantic-ai against the real server over stdio (`MCPToolset` on a FastMCP stdio transport, one server process for
the module): every tool lists as a tool definition, text_to_image and text_to_speech answer through the toolset's
own `call_tool` (what an agent run calls for a model's tool call) and text_to_text through `direct_call_tool`, with no
model and no network. An image result becomes the inline JPEG preview (a `BinaryImage` the model sees) and the link to
the saved PNG; an audio result becomes the link to the saved WAV, which `read_resource` turns into the audio."""

from __future__ import annotations

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
async def toolset(stdio_server: StdioServer) -> AsyncIterator[Any]:
    require("pydantic_ai")
    from fastmcp.client.transports import StdioTransport
    from pydantic_ai.mcp import MCPToolset

    # keep_alive=False: the server process ends with the toolset instead of outliving the module.
    transport = StdioTransport(stdio_server.command, [], env=stdio_server.env, keep_alive=False)
    toolset = MCPToolset(transport, id="bailian", tool_error_behavior="error", init_timeout=30, read_timeout=60)
    async with toolset:
        yield toolset


@pytest.fixture(scope="module")
def run_context() -> Any:
    from pydantic_ai import RunContext
    from pydantic_ai.models.test import TestModel
    from pydantic_ai.usage import RunUsage

    return RunContext(deps=None, model=TestModel(), usage=RunUsage())


async def call(toolset: Any, run_context: Any, name: str) -> Any:
    """A tool call as an agent run makes it: the tool definition from `get_tools`, then `call_tool`."""
    tools = await toolset.get_tools(run_context)
    return await toolset.call_tool(name, CALLS[name], run_context, tools[name])


async def test_every_tool_lists(toolset: Any, run_context: Any) -> None:
    assert {tool.name for tool in await toolset.list_tools()} == EVERY_TOOL
    definitions = {name: tool.tool_def for name, tool in (await toolset.get_tools(run_context)).items()}
    assert set(definitions) == EVERY_TOOL
    for name, definition in definitions.items():
        assert definition.description and definition.parameters_json_schema["type"] == "object", name


async def test_text_to_image_becomes_a_preview_and_a_link(
    toolset: Any, run_context: Any, stdio_server: StdioServer
) -> None:
    from pydantic_ai import BinaryContent, BinaryImage

    result = await call(toolset, run_context, "text_to_image")
    summary, preview, link = result
    (path,) = saved_files(summary, stdio_server.out_dir, ".png")
    assert_png(path, stdio_server.out_dir)
    assert isinstance(preview, BinaryImage) and preview.media_type == "image/jpeg"
    assert_jpeg(preview.data)
    assert isinstance(link, str) and is_job_link(link, "png"), link
    saved = await toolset.read_resource(link)
    assert isinstance(saved, BinaryContent) and saved.media_type == "image/png"
    assert saved.data == path.read_bytes()


async def test_text_to_text_direct_call(toolset: Any) -> None:
    """Content that is all text: pydantic-ai hands the model the structured result, whose `text` is the answer."""
    result = await toolset.direct_call_tool("text_to_text", CALLS["text_to_text"])
    assert isinstance(result, dict) and result["status"] == "SUCCEEDED", result
    assert QUESTION in result["text"]


async def test_text_to_speech_becomes_a_link_to_the_audio(
    toolset: Any, run_context: Any, stdio_server: StdioServer
) -> None:
    from pydantic_ai import BinaryContent

    result = await call(toolset, run_context, "text_to_speech")
    summary, link = result
    (path,) = saved_files(summary, stdio_server.out_dir, ".wav")
    assert_wav(path, stdio_server.out_dir)
    assert isinstance(link, str) and is_job_link(link, "wav"), link
    audio = await toolset.read_resource(link)
    assert isinstance(audio, BinaryContent) and audio.media_type == "audio/wav"
    assert audio.data == path.read_bytes()
