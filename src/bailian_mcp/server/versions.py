"""What a client of an older protocol version is sent: only what its version knows.

    2024-11-05   text, image and embedded resources; no tool annotations
    2025-03-26   + audio content, tool annotations
    2025-06-18   + resource_link content, structuredContent, outputSchema, `title` fields   (and every later version)

A client that negotiated an older version gets each resource link as a line of text (its URI and what it is),
audio as its saved file and URL only (already in the summary), and no structured content or output schema: the
text summary holds what a person or a model reads. Newer clients get everything as it is.
"""

from __future__ import annotations

from typing import Any

from mcp.server.context import CallNext, HandlerResult, ServerRequestContext

AUDIO_SINCE = "2025-03-26"
LINKS_SINCE = "2025-06-18"  # resource_link, structuredContent, outputSchema, title
LISTS = {"resources/list": "resources", "resources/templates/list": "resourceTemplates", "prompts/list": "prompts"}


class OlderProtocolVersions:
    """Server middleware: results trimmed to what the request's negotiated protocol version defines."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        version = ctx.protocol_version
        if not isinstance(result, dict) or not version or version >= LINKS_SINCE:  # dates compare as text
            return result
        return for_version(ctx.method, result, version)


def for_version(method: str, result: dict[str, Any], version: str) -> dict[str, Any]:
    """The result of `method` (as sent on the wire) as a client of `version`, older than LINKS_SINCE, reads it."""
    if method == "tools/call":
        content = [block for item in result.get("content", []) for block in _content(item, version)]
        return {key: value for key, value in result.items() if key != "structuredContent"} | {"content": content}
    if method == "tools/list":
        dropped = {"title", "outputSchema", "icons"} | (set() if version >= AUDIO_SINCE else {"annotations"})
        return result | {"tools": [_without(tool, dropped) for tool in result.get("tools", [])]}
    if method in LISTS:
        key = LISTS[method]
        return result | {key: [_without(item, {"title", "icons"}) for item in result.get(key, [])]}
    return result


def _without(item: dict[str, Any], keys: set[str]) -> dict[str, Any]:
    return {key: value for key, value in item.items() if key not in keys}


def _content(block: dict[str, Any], version: str) -> list[dict[str, Any]]:
    if block.get("type") == "resource_link":
        about = f" ({block['description']})" if block.get("description") else ""
        return [{"type": "text", "text": f"{block.get('name')}: {block.get('uri')}{about}"}]
    if block.get("type") == "audio" and version < AUDIO_SINCE:
        return []
    return [block]
