"""A `JobResult` as MCP content: generated text first, a short summary, small previews, links, structured data.

The previews (JPEG thumbnails of images, short audio inline) share one byte budget
(BAILIAN_PREVIEW_BYTES), so a result stays far below the ~1 MiB that Claude Desktop
accepts however many files a job made.
"""

from __future__ import annotations

import base64
from pathlib import Path

from mcp.types import AudioContent, CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from bailian_mcp.config import Settings
from bailian_mcp.media import preview_jpeg
from bailian_mcp.results import JobResult, OutputFile

ERROR_STATUSES = frozenset({"FAILED", "UNKNOWN", "REJECTED", "SUBMIT_UNCERTAIN"})


def summary(result: JobResult) -> str:
    lines = [f"{result.capability} · {result.model} · {result.status}: {result.message}"]
    if result.cost:
        lines.append(f"Cost: {result.cost.amount:g} {result.cost.currency} ({result.cost.basis}).")
    for output in result.outputs:
        lines.append("- " + describe_output(output))
    lines.extend(f"Warning: {w}" for w in result.warnings)
    lines.append(f"job_id={result.job_id} task_id={result.task_id}")
    return "\n".join(lines)


def describe_output(output: OutputFile) -> str:
    if output.error:
        return f"#{output.index}: failed — {output.error.code}: {output.error.message}"
    parts = [f"#{output.index}:"]
    if output.path:
        parts.append(output.path)
    if output.source:
        parts.append(f"from {output.source}")
    if output.width and output.height:
        parts.append(f"{output.width}×{output.height}")
    if output.duration_seconds is not None:
        parts.append(f"{output.duration_seconds:g} s")
    if output.bytes is not None:
        parts.append(f"{output.bytes / 1024:.0f} KiB")
    if output.url:
        parts.append(f"url (until {output.url_expires_at or 'expiry'}): {output.url}")
    return " ".join(parts)


def _link(output: OutputFile, job_id: str) -> ResourceLink | None:
    if output.path:
        uri = Path(output.path).as_uri()
    elif output.url:
        uri = output.url
    else:
        return None
    return ResourceLink(
        type="resource_link",
        name=f"{job_id}-{output.index}",
        title=f"{output.kind} {output.index}",
        uri=uri,
        mime_type=output.mime_type,
        size=output.bytes,
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _previews(result: JobResult, settings: Settings) -> list[ContentBlock]:
    """Inline previews within the byte budget: image thumbnails, and audio files small enough to send whole."""
    blocks: list[ContentBlock] = []
    budget = settings.preview_max_bytes
    shown = [o for o in result.outputs if o.path and o.kind in ("image", "audio")]
    for position, output in enumerate(shown):
        assert output.path is not None
        share = budget // (len(shown) - position)
        if output.kind == "image":
            thumbnail = await preview_jpeg(Path(output.path), max_side=settings.preview_max_side, max_bytes=share)
            if thumbnail is None:
                continue
            blocks.append(ImageContent(type="image", data=_b64(thumbnail), mime_type="image/jpeg"))
            budget -= len(thumbnail)
        elif output.bytes is not None and output.bytes <= share and output.mime_type:
            audio = Path(output.path).read_bytes()
            blocks.append(AudioContent(type="audio", data=_b64(audio), mime_type=output.mime_type))
            budget -= len(audio)
    return blocks


async def to_call_tool_result(result: JobResult, settings: Settings) -> CallToolResult:
    content: list[ContentBlock] = []
    if result.text:
        content.append(TextContent(type="text", text=result.text))
    content.append(TextContent(type="text", text=summary(result)))
    content.extend(await _previews(result, settings))
    content.extend(link for o in result.outputs if (link := _link(o, result.job_id)) is not None)
    return CallToolResult(
        content=content,
        structured_content=result.model_dump(mode="json"),
        is_error=result.status in ERROR_STATUSES,
    )
