"""Every capability, by name. Faces (tools, CLI, batch) are derived from this registry."""

from __future__ import annotations

from bailian_mcp.capabilities.base import Capability
from bailian_mcp.capabilities.text_to_image import TEXT_TO_IMAGE

CAPABILITIES: dict[str, Capability] = {c.name: c for c in (TEXT_TO_IMAGE,)}
