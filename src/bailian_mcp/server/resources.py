"""The MCP resources: each tool's full help, the model catalogue, and every saved output of a job."""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio
from mcp.server import MCPServer
from mcp.server.context import CallNext, HandlerResult, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from bailian_mcp import catalog
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.jobs.services import Services
from bailian_mcp.jobs.summary import model_line
from bailian_mcp.server.content import RESOURCE_MIME_TYPES
from bailian_mcp.server.services import services_of
from bailian_mcp.server.wording import MCP_WORDS

INLINE_MAX_BYTES = 8 * 1024 * 1024
"""A saved output larger than this is described (path, URL, size) rather than sent: its bytes, base64-encoded in one
JSON reply, would cost a client (and this server) several times their size in memory and time out."""
_OUTPUT_URI = re.compile(r"^bailian://jobs/(?P<job_id>[^/]+)/(?P<index>[^/.]+)(?P<suffix>\.[a-z0-9]+)$")


async def saved_output(services: Services, job_id: str, index: str, suffix: str) -> tuple[Path, dict[str, Any]]:
    """The file of a job's saved output and its record, when that output is a file of this `suffix` (its URI under
    another extension is not found, so the MIME type always fits the bytes); ResourceNotFoundError otherwise."""
    job = await services.store.get(job_id)
    outputs = (job.result or {}).get("outputs", []) if job else []
    match = [o for o in outputs if str(o.get("index")) == index and o.get("path")]
    if not match:
        raise ResourceNotFoundError(f"Job {job_id} has no saved output {index}; get_task saves missing files anew.")
    path = Path(match[0]["path"]).resolve()
    if (saved := path.suffix.lower()) != suffix:
        raise ResourceNotFoundError(
            f"Job {job_id}'s output {index} is a {saved or 'file without extension'} file, not {suffix}: "
            f"read bailian://jobs/{job_id}/{index}{saved}."
        )
    if not path.is_relative_to(services.settings.output_dir.resolve()) or not path.is_file():
        raise ResourceNotFoundError(f"The file of job {job_id} output {index} is no longer in the output folder.")
    return path, match[0]


def _saved_output(suffix: str) -> Callable[[Context, str, str], Awaitable[bytes]]:
    """The reader of `bailian://jobs/{job_id}/{index}<suffix>`: the bytes of a job's saved output (large ones are
    answered by `LargeOutputs` before this is reached)."""

    async def read(ctx: Context, job_id: str, index: str) -> bytes:
        path, _ = await saved_output(services_of(ctx), job_id, index, suffix)
        return await anyio.Path(path).read_bytes()

    return read


class LargeOutputs:
    """Server middleware: `resources/read` of a saved output over INLINE_MAX_BYTES answers with a text giving the
    file's path, size and URL, so that memory stays flat however large the file."""

    async def __call__(self, ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        uri = str((ctx.params or {}).get("uri", "")) if ctx.method == "resources/read" else ""
        found = _OUTPUT_URI.match(uri)
        if found is None or not isinstance(ctx.lifespan_context, Services):
            return await call_next(ctx)
        try:
            path, output = await saved_output(ctx.lifespan_context, found["job_id"], found["index"], found["suffix"])
        except ResourceNotFoundError as exc:
            raise MCPError(code=INVALID_PARAMS, message=str(exc), data={"uri": uri}) from None
        size = path.stat().st_size
        if size <= INLINE_MAX_BYTES:
            return await call_next(ctx)
        url = f" Its URL (valid until {output.get('url_expires_at')}): {output['url']}" if output.get("url") else ""
        text = (
            f"This file is {size} bytes, too large to send inline (at most {INLINE_MAX_BYTES} bytes). It is saved at "
            f"{path}.{url}"
        )
        return {"contents": [{"uri": uri, "mimeType": "text/plain", "text": text}]}


def capability_help(name: str) -> str:
    """The full help of a tool: what it does, how it waits, every parameter with its limits, and its models."""
    capability = CAPABILITIES.get(name)
    if capability is None:
        raise ResourceNotFoundError(f"No tool {name!r} has help; the tools are {', '.join(CAPABILITIES)}.")
    lines = [f"# {capability.name} — {capability.title}", "", capability.description, "", MCP_WORDS.waiting]
    lines += ["", "## Parameters", ""]
    schema = capability.params_model.model_json_schema()
    required = set(schema.get("required", []))
    for param, spec in schema["properties"].items():
        limits = ", ".join(
            f"{key} {spec[key]}"
            for key in ("default", "minimum", "maximum", "minLength", "maxLength", "enum")
            if key in spec
        )
        flag = "required" if param in required else "optional"
        lines.append(f"- `{param}` ({flag}{'; ' + limits if limits else ''}): {spec.get('description', '')}")
    lines += ["", "## Models", ""]
    lines += [f"- {model_line(m)}" for m in catalog.catalogue(name)]
    return "\n".join(lines)


def add_resources(server: MCPServer[Services]) -> None:
    server.resource(
        "bailian://help/{name}",
        name="help",
        title="Tool help",
        mime_type="text/markdown",
        description="The full help of a generation tool.",
    )(capability_help)

    @server.resource(
        "bailian://models",
        name="models",
        title="Model catalogue",
        mime_type="application/json",
        description="Every model: capability, limits, sizes, prices, regions.",
    )
    def models() -> str:
        return json.dumps(catalog.catalogue(), ensure_ascii=False, indent=1)

    for suffix, mime_type in RESOURCE_MIME_TYPES.items():
        server.resource(
            f"bailian://jobs/{{job_id}}/{{index}}{suffix}",
            name=f"job-output{suffix}",
            title=f"Saved job output ({suffix})",
            mime_type=mime_type,
            description="A file a job saved; the links in tool results point here.",
        )(_saved_output(suffix))
