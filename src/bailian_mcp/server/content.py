"""A `JobResult` as MCP content: generated text first, a short summary, small previews, links, structured data.

The previews (JPEG thumbnails of images, short audio inline when BAILIAN_INLINE_AUDIO is on) share one byte budget
(BAILIAN_PREVIEW_BYTES), so a result stays far below the ~1 MiB that Claude Desktop
accepts however many files a job made.
"""

from __future__ import annotations

import base64
from pathlib import Path

from mcp.types import AudioContent, CallToolResult, ContentBlock, ImageContent, ResourceLink, TextContent

from bailian_mcp.config import Settings
from bailian_mcp.jobs.results import JobResult, OutputFile
from bailian_mcp.jobs.status import ERROR
from bailian_mcp.jobs.summary import summary
from bailian_mcp.media import preview_jpeg

RESOURCE_MIME_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".webp": "image/webp",
    ".mp4": "video/mp4",
    ".wav": "audio/wav",
    ".mp3": "audio/mpeg",
    ".pcm": "audio/L16",
    ".json": "application/json",
}


def resource_uri(job_id: str, output: OutputFile) -> str | None:
    """`bailian://jobs/{job_id}/{index}{suffix}`: the saved file as an MCP resource (see server.py)."""
    if not output.path or Path(output.path).suffix.lower() not in RESOURCE_MIME_TYPES:
        return None
    return f"bailian://jobs/{job_id}/{output.index}{Path(output.path).suffix.lower()}"


def _links(output: OutputFile, job_id: str, mode: str) -> list[ResourceLink]:
    """Links to an output: the saved file as a resource (local, both) and DashScope's URL (url, both)."""
    targets = []
    if mode in ("local", "both") and (uri := resource_uri(job_id, output)):
        targets.append((uri, f"saved at {output.path}"))
    if (mode in ("url", "both") or not targets) and output.url:
        targets.append((output.url, f"DashScope URL, valid until {output.url_expires_at or 'it expires (24 h)'}"))
    return [
        ResourceLink(
            type="resource_link",
            name=f"{job_id}-{output.index}",
            title=f"{output.kind} {output.index}",
            description=description,
            uri=uri,
            mime_type=output.mime_type,
            size=output.bytes,
        )
        for uri, description in targets
    ]


def fit(result: JobResult, max_chars: int) -> JobResult:
    """`result` small enough for a client's tool-output cap: timed segments, then text, give way first.

    What is cut stays in the saved files (transcript JSON) and in the job store.
    """
    if len(result.model_dump_json()) <= max_chars:
        return result
    note = "The result was shortened to fit a tool result; the full text is in the saved files"
    outputs = [o.model_copy(update={"segments": None}) for o in result.outputs]
    result = result.model_copy(update={"outputs": outputs, "warnings": [*result.warnings, note + "."]})
    budget = max(
        1000,
        max_chars
        - len(
            result.model_copy(
                update={"text": None, "outputs": [o.model_copy(update={"text": None}) for o in outputs]}
            ).model_dump_json()
        ),
    )
    share = budget // (2 * (1 + len(outputs)))

    def cut(text: str | None) -> str | None:
        return text if text is None or len(text) <= share else text[:share] + " […]"

    return result.model_copy(
        update={
            "text": cut(result.text),
            "outputs": [o.model_copy(update={"text": cut(o.text)}) for o in outputs],
        }
    )


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


async def _previews(result: JobResult, settings: Settings) -> list[ContentBlock]:
    """Inline previews within the byte budget: image thumbnails, and (BAILIAN_INLINE_AUDIO) audio files small enough
    to send whole."""
    blocks: list[ContentBlock] = []
    budget = settings.preview_max_bytes
    kinds = ("image", "audio") if settings.inline_audio else ("image",)
    shown = [o for o in result.outputs if o.path and o.kind in kinds]
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
    result = fit(result, settings.result_max_chars)
    content: list[ContentBlock] = []
    if result.text:
        content.append(TextContent(type="text", text=result.text))
    content.append(TextContent(type="text", text=summary(result)))
    content.extend(await _previews(result, settings))
    content.extend(link for o in result.outputs for link in _links(o, result.job_id, settings.result_mode))
    return CallToolResult(
        content=content,
        structured_content=result.model_dump(mode="json"),
        is_error=result.status in ERROR,
    )
