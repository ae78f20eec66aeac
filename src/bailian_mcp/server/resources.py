"""The MCP resources: each tool's full help, the model catalogue, and every saved output of a job."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from bailian_mcp import catalog
from bailian_mcp.capabilities import CAPABILITIES
from bailian_mcp.jobs.services import Services
from bailian_mcp.server.content import RESOURCE_MIME_TYPES
from bailian_mcp.server.services import services_of
from bailian_mcp.server.wording import MCP_WORDS


def _saved_output(suffix: str) -> Callable[[Context, str, str], Awaitable[bytes]]:
    """The reader of `bailian://jobs/{job_id}/{index}<suffix>`: the bytes of a job's saved output, when that output is
    a file of this type (its URI under another extension is not found, so the MIME type always fits the bytes)."""

    async def read(ctx: Context, job_id: str, index: str) -> bytes:
        services = services_of(ctx)
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
        return path.read_bytes()

    return read


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
    lines += [
        f"- `{m['name']}`: {m['summary']} {m['price']}; regions {', '.join(m['regions'])}."
        for m in catalog.catalogue(name)
    ]
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
