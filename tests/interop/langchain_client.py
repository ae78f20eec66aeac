"""The langchain-mcp-adapters side of tests/interop/test_langchain.py, run by .venv-langchain's python (that package
pins mcp<2, so it cannot be imported beside our server). It is not a test module: it spawns our server over stdio
through `MultiServerMCPClient`, loads every tool with `load_mcp_tools`, invokes text_to_image, text_to_text and
text_to_speech as a LangGraph ToolNode would (`tool.ainvoke(<tool call>)`, which gives a ToolMessage), converts each
result to the OpenAI chat format with langchain-core's own converter, and prints one JSON report on stdout for the test
to check.

Usage: python langchain_client.py '{"command": ..., "args": [...], "env": {...}, "calls": {tool: arguments}}'
"""

from __future__ import annotations

import asyncio
import json
import sys
import traceback
from typing import Any


def block_summary(block: Any) -> Any:
    """A content block without its base64 payload (its length instead)."""
    if not isinstance(block, dict):
        return block
    summary = {k: v for k, v in block.items() if k not in ("base64", "data")}
    for key in ("base64", "data"):
        if isinstance(block.get(key), str):
            summary[f"{key}_chars"] = len(block[key])
    return summary


def openai_summary(message: Any) -> Any:
    """What langchain-core's `convert_to_openai_messages` makes of a ToolMessage (or the error it raises)."""
    from langchain_core.messages.utils import convert_to_openai_messages

    try:
        converted = convert_to_openai_messages(message, text_format="block")
    except Exception as error:
        return {"error": f"{type(error).__name__}: {error}"}
    content = converted.get("content")
    if isinstance(content, list):
        shown = []
        for part in content:
            part = dict(part) if isinstance(part, dict) else part
            if isinstance(part, dict) and isinstance(part.get("image_url"), dict):
                url = part["image_url"].get("url", "")
                if url.startswith("data:"):
                    url = f"{url[:30]}... ({len(url)} chars)"
                part["image_url"] = {"url": url}
            shown.append(block_summary(part))
        content = shown
    return {"role": converted.get("role"), "content": content}


async def main(spec: dict[str, Any]) -> dict[str, Any]:
    from langchain_core.utils.function_calling import convert_to_openai_tool
    from langchain_mcp_adapters.client import MultiServerMCPClient
    from langchain_mcp_adapters.tools import load_mcp_tools

    connection = {"transport": "stdio", "command": spec["command"], "args": spec.get("args", []), "env": spec["env"]}
    client = MultiServerMCPClient({"bailian": connection})  # type: ignore[dict-item]
    report: dict[str, Any] = {"tools": {}, "calls": {}}
    # One session (one server process) for everything, as the adapters' docs show for stateful use.
    async with client.session("bailian") as session:
        tools = await load_mcp_tools(session, server_name="bailian")
        for tool in tools:
            entry: dict[str, Any] = {"description": bool(tool.description)}
            try:
                function = convert_to_openai_tool(tool)["function"]
                entry["openai_parameters"] = sorted(function["parameters"].get("properties", {}))
            except Exception as error:
                entry["openai_error"] = f"{type(error).__name__}: {error}"
            report["tools"][tool.name] = entry
        by_name = {tool.name: tool for tool in tools}
        for n, (name, arguments) in enumerate(spec["calls"].items()):
            call = {"type": "tool_call", "id": f"call-{n}", "name": name, "args": arguments}
            try:
                message = await by_name[name].ainvoke(call)
            except Exception as error:
                report["calls"][name] = {
                    "exception": f"{type(error).__name__}: {error}",
                    "trace": traceback.format_exc(),
                }
                continue
            content = message.content if isinstance(message.content, list) else [message.content]
            artifact = message.artifact or {}
            report["calls"][name] = {
                "message_type": type(message).__name__,
                "status": getattr(message, "status", None),
                "content": [block_summary(block) for block in content],
                "structured_content": artifact.get("structured_content"),
                "openai": openai_summary(message),
            }
    return report


if __name__ == "__main__":
    print(json.dumps(asyncio.run(main(json.loads(sys.argv[1]))), ensure_ascii=False))
